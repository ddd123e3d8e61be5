// Which trials `saturn profile` runs for a sweep: one per cost key (jobs that differ only in
// learning rate, seed, data, ... share one measurement; docs/profile.md) x allowed technique x
// allowed device count. Knows nothing of LibTorch: the caller says whether a technique can
// train a job on k devices.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config/sweep.h"
#include "profile/profile.h"

namespace saturn {

struct Trial {
  const JobSpec* job = nullptr;  // the first job of its cost key; its records serve the others
  std::string technique;
  int devices = 0;
  bool links = false;  // a link measurement on `devices` ranks instead (job null)
  int nodes = 1;       // links only: over this many whole nodes of devices / nodes each
  // Knob settings to try (JSON objects; the record keeps the fastest that ran), and those to try
  // when every one of them ran out of memory.
  std::vector<std::string> variants = {"{}"};
  std::vector<std::string> fallbacks;
  std::string label() const;  // "small.lr=1.0e-3 fsdp x2", "links x4", "links x16 over 2 nodes"
};

// "" when `technique` can train `job` on `devices` devices of the sweep's cluster, else why not.
using FeasibleFn = std::function<std::string(const JobSpec& job, const std::string& technique, int devices)>;
// The knob settings to try for a trial (Trial::variants, Trial::fallbacks); null: defaults only.
using KnobsFn = std::function<void(Trial* trial)>;

struct TrialPlan {
  std::vector<Trial> trials;              // to measure, in sweep order
  std::vector<ProfileRecord> infeasible;  // known without running anything (Feasible said no)
};

TrialPlan PlanTrials(const Sweep& sweep, const FeasibleFn& feasible, const KnobsFn& knobs = nullptr);

// The link measurements: within one node of the widest size, 2 .. its devices ranks; across
// `nodes_within_reach` such nodes (the ones trials can launch on), whole nodes: 2, 4, 8, ... of
// them and all of them. None across nodes when fewer than two are within reach.
std::vector<Trial> LinkTrials(const Sweep& sweep, int nodes_within_reach);

}  // namespace saturn
