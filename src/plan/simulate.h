// A discrete-event replay of a plan with seeded noise on step times: how long the sweep really
// takes when jobs run early or late, executed as planned or re-planned as they finish.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "plan/plan.h"

namespace saturn {

struct SimOptions {
  uint64_t seed = 1;
  double noise = 0.1;  // sigma of the log-normal factor (mean 1) on each job's step time
  // Chance that a job crashes once, at a uniform point of its run, and is run again on its
  // devices from its start (no checkpoint: the costliest crash). The re-planner learns of the
  // crash when it happens, as the orchestrator does.
  double failures = 0;
  int trials = 20;
  // Called after each trial with how many are done and the seconds they took: re-planning at
  // every job end costs about J^3 (J events, each a search over the jobs left that decodes them
  // all per move), so a plan of thousands of jobs takes minutes a trial and the caller says so.
  std::function<void(int done, double seconds)> on_trial;
};

struct SimTrial {
  double as_planned = 0;  // jobs keep their devices and per-device order, start when those free
  double replanned = 0;   // at each job's end, jobs not yet started are placed again
};

struct SimReport {
  double planned = 0;
  std::vector<SimTrial> trials;
  double mean_as_planned() const;
  double mean_replanned() const;
};

SimReport Simulate(const Plan& plan, const SimOptions& opt);
std::string SimReportText(const Plan& plan, const SimOptions& opt, const SimReport& r);

}  // namespace saturn
