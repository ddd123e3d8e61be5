// The milp policy: a time-indexed mixed-integer program solved with COIN-OR CBC, over the whole
// instance when it is small enough, else as a large-neighbourhood search of node subsets.
// Formulation and reasoning: docs/planner.md.
#pragma once

#include "plan/plan.h"
#include "plan/schedule.h"

namespace saturn {

struct MilpOptions {
  double time_limit_seconds = 60;
  int max_columns = 40000;      // whole-instance model size above which the search decomposes
  int max_slots = 512;          // finest time grid tried
  int neighbourhood_columns = 8000;
  double lower_bound = -1;      // the instance's LowerBound when the caller has it; < 0: computed here
  // What each CBC process may allocate beyond what it inherits; a model needing more is dropped
  // like one past its time (milp.cc: CBC's preprocessing alone has taken 650 MB).
  long cbc_memory_mb = 512;
  bool verbose = false;
};

// Improves on `incumbent` (a feasible schedule of `inst`); never returns a worse makespan.
Schedule MilpSchedule(const Instance& inst, const Schedule& incumbent, const MilpOptions& opt, SolverInfo* info);

}  // namespace saturn
