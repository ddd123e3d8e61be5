// MakePlan: the policy table.
#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdio>

#include "plan/milp.h"
#include "plan/objective.h"
#include "plan/plan.h"
#include "plan/policies.h"
#include "util/clock.h"

namespace saturn {

const std::vector<std::string>& PolicyNames() {
  static const std::vector<std::string> names = {"milp", "greedy", "uniform", "current-practice"};
  return names;
}

double FinishReserve(size_t jobs, double limit) { return std::min(0.25 * limit, 0.5 + 2e-3 * double(jobs)); }

Result<Plan> MakePlan(const Instance& inst, const PlanOptions& opt) {
  auto t0 = std::chrono::steady_clock::now();
  // The MILP and group packing know nothing of reservations or release times: a running sweep
  // is re-planned by Replan (plan/replan.h).
  const bool released = std::any_of(inst.jobs.begin(), inst.jobs.end(), [](const PlanJob& j) { return j.release > 0; });
  assert(inst.reserved.empty() && !released);
  if (!inst.reserved.empty() || released)
    return Status::Internal("MakePlan: an instance with reservations or release times; use Replan");
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
    // Times count from the command's start; what writing the plan takes is set aside.
    const double limit = opt.time_limit_seconds - FinishReserve(inst.jobs.size(), opt.time_limit_seconds);
    auto elapsed = [&] { return SecondsSince(opt.started); };
    const long moves = 40000L * long(inst.jobs.size());  // 12 jobs: 0.6 s here (docs/planner.md)
    LocalSearchStats before, after;
    Schedule first = HeuristicSchedule(inst, std::max(0.0, 0.15 * limit - elapsed()), plan.lower_bound);
    const double heuristic_seconds = SecondsSince(t0);
    Schedule start = LocalSearchSchedule(inst, first, moves, std::max(0.0, std::min(0.1 * limit, 0.92 * limit - elapsed())),
                                         1, &before);
    MilpOptions mo;
    mo.time_limit_seconds = std::max(0.5, 0.92 * limit - elapsed());
    mo.verbose = opt.verbose;
    mo.lower_bound = plan.lower_bound;
    plan.schedule = MilpSchedule(inst, start, mo, &plan.solver);
    // A plan proven optimal cannot improve.
    Schedule polished = plan.solver.status == "optimal"
                            ? plan.schedule
                            : LocalSearchSchedule(inst, plan.schedule, moves, std::max(0.0, limit - elapsed()), 2, &after);
    if (opt.verbose) {
      auto value = [&](const Schedule& s) { return ObjectiveValue(inst, s); };
      std::fprintf(stderr,
                   "%s: heuristics: %.1f s (%.1f s); local search: %.1f s before CBC (%ld of %ld moves, %.1f s), %.1f s "
                   "after CBC, %.1f s polished (%ld moves, %.1f s)\n",
                   inst.objective.c_str(), value(first), heuristic_seconds, value(start), before.moves, moves,
                   before.seconds, value(plan.schedule), value(polished), after.moves, after.seconds);
    }
    plan.solver.method += ", between local searches";
    if (Better(PlanScore(inst, polished), PlanScore(inst, plan.schedule))) {
      plan.schedule = std::move(polished);
      plan.solver.Settle(ObjectiveValue(inst, plan.schedule), /*proves=*/true);
    }
    // The solver's makespan bound holds for every schedule too (docs/planner.md).
    if (inst.objective == "makespan") plan.lower_bound = std::max(plan.lower_bound, plan.solver.best_bound);
  } else {
    if (opt.policy == "greedy") plan.schedule = GreedySchedule(inst);
    else if (opt.policy == "uniform") plan.schedule = UniformSchedule(inst);
    else if (opt.policy == "current-practice") plan.schedule = CurrentPracticeSchedule(inst);
    else return Status::UserError("--policy: unknown policy '" + opt.policy + "'; one of milp, greedy, uniform, current-practice");
    plan.solver.status = "heuristic";
    plan.solver.method = opt.policy;
    plan.solver.best_bound = inst.objective == "makespan" ? plan.lower_bound : MeanCompletionBound(inst);
    plan.solver.Settle(ObjectiveValue(inst, plan.schedule), /*proves=*/false);
  }
  plan.solver.seconds = SecondsSince(t0);
  Status st = CheckSchedule(inst, plan.schedule);
  assert(st.ok() && "every policy makes valid schedules");
  if (!st.ok()) return st;
  return plan;
}

}  // namespace saturn
