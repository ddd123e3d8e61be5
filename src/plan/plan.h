// A plan: a schedule for an instance, made by one policy, with the solver's account of it.
// JSON layout: docs/planner.md. The plan embeds its instance so `--simulate` needs nothing else.
#pragma once

#include <chrono>

#include <algorithm>
#include <string>
#include <vector>

#include "plan/instance.h"
#include "plan/schedule.h"
#include "util/status.h"

namespace saturn {

struct SolverInfo {
  std::string status = "none";  // optimal | feasible | heuristic | none
  std::string method;           // e.g. "time-indexed MILP", "MILP large-neighbourhood search"
  double objective = 0;         // seconds; the plan's value of the instance's objective (plan/objective.h)
  double best_bound = 0;        // seconds; a bound on that objective that holds for every schedule
  double gap = 0;               // (objective - best_bound) / objective
  double seconds = 0;           // wall time of planning
  double grid_seconds = 0;      // time-slot length of the MILP, 0 when none
  int subproblems = 0;          // MILPs solved

  // objective := the plan's objective value, gap from best_bound. With `proves`, a bound that meets the
  // makespan makes the status optimal, however the plan was found (baselines keep "heuristic").
  void Settle(double makespan, bool proves) {
    objective = makespan;
    if (proves && best_bound >= objective - 1e-6) status = "optimal";
    gap = objective > 0 ? std::max(0.0, (objective - best_bound) / objective) : 0;
  }
};

struct Plan {
  std::string policy;
  std::string sweep;
  Instance instance;
  Schedule schedule;
  double lower_bound = 0;  // of the makespan, whatever the objective
  SolverInfo solver;
  // A re-plan (plan/replan.h) covers what was left of a running sweep: its time 0 is this many
  // seconds into the sweep's execution, and its instance's reservations are the jobs running then.
  double offset_seconds = 0;
  // When the last job, or the last reservation, ends.
  double makespan() const {
    double m = schedule.makespan();
    for (const Reservation& r : instance.reserved)
      if (!r.out_of_use) m = std::max(m, r.until);
    return m;
  }
  // How many jobs the schedule runs on configurations the analytic model estimated.
  int estimated_jobs() const {
    int n = 0;
    for (size_t j = 0; j < schedule.jobs.size(); ++j) n += instance.jobs[j].configs[schedule.jobs[j].config].estimated;
    return n;
  }
};

struct PlanOptions {
  std::string policy = "milp";
  // Bounds the whole command: counted from `started`, and leaving time to write the plan.
  double time_limit_seconds = 60;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  bool verbose = false;
};

// Seconds of a command's --time-limit kept back for what follows the search: checking and
// writing the plan file and its chart (under a millisecond a job here, doubled) and the
// process's exit (libtorch unregisters its operators: 0.2-0.25 s here, taken as 0.5), never more
// than a quarter.
double FinishReserve(size_t jobs, double limit);

// The policies `saturn plan --policy` accepts, in the order --help lists them.
const std::vector<std::string>& PolicyNames();

// Runs a policy on an instance without reservations. The result always passes CheckSchedule.
Result<Plan> MakePlan(const Instance& inst, const PlanOptions& opt);

std::string PlanToJson(const Plan& plan);
Result<Plan> ParsePlan(const std::string& json_text, const std::string& path_for_errors);
Result<Plan> LoadPlan(const std::string& path);

// A fixed-width table of the plan for the terminal.
std::string PlanTable(const Plan& plan);
// A Gantt chart: one row per device, time across, one colour per job, labelled.
std::string PlanSvg(const Plan& plan);
// Each job's colour in PlanSvg (by job index): other charts of the same sweep use them too.
std::vector<std::string> PlanColors(const Plan& plan);

}  // namespace saturn
