// MakePlan: the policy table.
#include <algorithm>
#include <chrono>

#include "plan/milp.h"
#include "plan/plan.h"
#include "plan/policies.h"

namespace saturn {

const std::vector<std::string>& PolicyNames() {
  static const std::vector<std::string> names = {"milp", "greedy", "uniform", "current-practice"};
  return names;
}

Result<Plan> MakePlan(const Instance& inst, const PlanOptions& opt) {
  auto t0 = std::chrono::steady_clock::now();
  Plan plan;
  plan.policy = opt.policy;
  plan.sweep = inst.sweep;
  plan.instance = inst;
  plan.lower_bound = LowerBound(inst);
  if (opt.policy == "milp") {
    MilpOptions mo;
    mo.time_limit_seconds = opt.time_limit_seconds;
    mo.verbose = opt.verbose;
    plan.schedule = MilpSchedule(inst, HeuristicSchedule(inst), mo, &plan.solver);
    // The solver's bound holds for every schedule too (docs/planner.md).
    plan.lower_bound = std::max(plan.lower_bound, plan.solver.best_bound);
  } else {
    if (opt.policy == "greedy") plan.schedule = GreedySchedule(inst);
    else if (opt.policy == "uniform") plan.schedule = UniformSchedule(inst);
    else if (opt.policy == "current-practice") plan.schedule = CurrentPracticeSchedule(inst);
    else return Status::UserError("--policy: unknown policy '" + opt.policy + "'; one of milp, greedy, uniform, current-practice");
    plan.solver.status = "heuristic";
    plan.solver.method = opt.policy;
    plan.solver.objective = plan.schedule.makespan();
    plan.solver.best_bound = plan.lower_bound;
    plan.solver.gap = plan.solver.objective > 0 ? (plan.solver.objective - plan.lower_bound) / plan.solver.objective : 0;
  }
  plan.solver.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Status st = CheckSchedule(inst, plan.schedule);
  assert(st.ok() && "every policy makes valid schedules");
  if (!st.ok()) return st;
  return plan;
}

}  // namespace saturn
