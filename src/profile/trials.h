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
  std::string label() const;  // "small.lr=1.0e-3 fsdp x2", "links x4"
};

// "" when `technique` can train `job` on `devices` devices of the sweep's cluster, else why not.
using FeasibleFn = std::function<std::string(const JobSpec& job, const std::string& technique, int devices)>;

struct TrialPlan {
  std::vector<Trial> trials;              // to measure, in sweep order
  std::vector<ProfileRecord> infeasible;  // known without running anything (Feasible said no)
  // Device counts above one node's: trials across nodes need a host list (not yet), so none is
  // recorded; the planner then never gives a job more than a node.
  std::vector<std::string> skipped;
};

TrialPlan PlanTrials(const Sweep& sweep, const FeasibleFn& feasible);

// The link measurements of one node: 2 .. its devices ranks.
std::vector<Trial> LinkTrials(const Sweep& sweep);

}  // namespace saturn
