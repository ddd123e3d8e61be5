// MakePlan: the policy table.
#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdio>

#include "plan/milp.h"
#include "plan/plan.h"
#include "plan/policies.h"
#include "util/clock.h"

namespace saturn {

const std::vector<std::string>& PolicyNames() {
  static const std::vector<std::string> names = {"milp", "greedy", "uniform", "current-practice"};
  return names;
}

Result<Plan> MakePlan(const Instance& inst, const PlanOptions& opt) {
  auto t0 = std::chrono::steady_clock::now();
  // The MILP and group packing know nothing of reservations: a running sweep is re-planned by
  // Replan (plan/replan.h).
  assert(inst.reserved.empty());
  if (!inst.reserved.empty()) return Status::Internal("MakePlan: an instance with reservations; use Replan");
  Plan plan;
  plan.policy = opt.policy;
  plan.sweep = inst.sweep;
  plan.instance = inst;
  plan.lower_bound = LowerBound(inst);
  if (opt.policy == "milp") {
    // Local search before CBC (a tenth of the time) and after it (what is left): before, it
    // starts CBC nearer the optimum and stands when no grid improves on it; after, it repairs
    // what rounding durations up to the grid cost. The move budget, not the clock, ends it on
    // small instances, so those plans stay deterministic.
    const double limit = opt.time_limit_seconds;
    const long moves = 4000L * long(inst.jobs.size());
    LocalSearchStats before, after;
    Schedule start = LocalSearchSchedule(inst, HeuristicSchedule(inst), moves,
                                         std::min(0.1 * limit, 0.92 * limit - SecondsSince(t0)), 1, &before);
    MilpOptions mo;
    mo.time_limit_seconds = std::max(0.5, 0.92 * limit - SecondsSince(t0));
    mo.verbose = opt.verbose;
    plan.schedule = MilpSchedule(inst, start, mo, &plan.solver);
    // A plan proven optimal cannot improve.
    Schedule polished = plan.solver.status == "optimal"
                            ? plan.schedule
                            : LocalSearchSchedule(inst, plan.schedule, moves, std::max(0.0, limit - SecondsSince(t0)), 2, &after);
    if (opt.verbose)
      std::fprintf(stderr,
                   "local search: %.1f s before CBC (%ld of %ld moves, %.1f s), %.1f s after CBC, %.1f s polished "
                   "(%ld moves, %.1f s)\n",
                   start.makespan(), before.moves, moves, before.seconds, plan.schedule.makespan(), polished.makespan(),
                   after.moves, after.seconds);
    plan.solver.method += ", between local searches";
    if (polished.makespan() < plan.schedule.makespan() - 1e-9) {
      plan.schedule = std::move(polished);
      plan.solver.Settle(plan.schedule.makespan(), /*proves=*/true);
    }
    // The solver's bound holds for every schedule too (docs/planner.md).
    plan.lower_bound = std::max(plan.lower_bound, plan.solver.best_bound);
  } else {
    if (opt.policy == "greedy") plan.schedule = GreedySchedule(inst);
    else if (opt.policy == "uniform") plan.schedule = UniformSchedule(inst);
    else if (opt.policy == "current-practice") plan.schedule = CurrentPracticeSchedule(inst);
    else return Status::UserError("--policy: unknown policy '" + opt.policy + "'; one of milp, greedy, uniform, current-practice");
    plan.solver.status = "heuristic";
    plan.solver.method = opt.policy;
    plan.solver.best_bound = plan.lower_bound;
    plan.solver.Settle(plan.schedule.makespan(), /*proves=*/false);
  }
  plan.solver.seconds = SecondsSince(t0);
  Status st = CheckSchedule(inst, plan.schedule);
  assert(st.ok() && "every policy makes valid schedules");
  if (!st.ok()) return st;
  return plan;
}

}  // namespace saturn
