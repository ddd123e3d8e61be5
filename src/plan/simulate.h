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
  // What the re-plans of one trial may search, in job decodes (a local-search move decodes every
  // waiting job once). Each re-plan wants 50 moves per waiting job, about J^3 decodes a trial;
  // past the budget every re-plan gets the same share of its want, spread so that the trial fits
  // (plan/simulate.cc). The default leaves plans of a few hundred jobs their full search.
  double search_budget = 1e8;
  // Called after each trial with how many are done and the seconds they took: a plan of
  // thousands of jobs takes a minute or more a trial, and the caller says so.
  std::function<void(int done, double seconds)> on_trial;
};

struct SimTrial {
  double as_planned = 0;  // jobs keep their devices and per-device order, start when those free
  double replanned = 0;   // at each job's end, jobs not yet started are placed again
  int replans = 0;        // re-plans made (job ends with jobs still waiting)
  double wanted = 0;      // job decodes their searches wanted (50 moves per waiting job)
  double searched = 0;    // job decodes the budget allowed them
};

struct SimReport {
  double planned = 0;
  std::vector<SimTrial> trials;
  double mean_as_planned() const;
  double mean_replanned() const;
  double searched_share() const;  // searched / wanted over every trial (1 with nothing wanted)
};

SimReport Simulate(const Plan& plan, const SimOptions& opt);
std::string SimReportText(const Plan& plan, const SimOptions& opt, const SimReport& r);

}  // namespace saturn
