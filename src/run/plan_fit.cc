#include "run/plan_fit.h"

#include <map>

namespace saturn {
namespace {

std::string Devices(int devices, const std::string& kind) {
  return std::to_string(devices) + " device(s)" + (kind.empty() ? "" : " of kind '" + kind + "'");
}

}  // namespace

Status CheckPlanFitsSweep(const Plan& plan, const std::string& plan_path, const Sweep& sweep) {
  const std::string again = "; plan this sweep again: saturn plan " + sweep.path + " --profile PROFILE.json -o " + plan_path;
  if (!plan.sweep.empty() && plan.sweep != sweep.name)
    return Status::UserError(plan_path + ": a plan of sweep '" + plan.sweep + "', not of '" + sweep.name + "' (" +
                             sweep.path + "); plan this sweep: saturn plan " + sweep.path + " --profile PROFILE.json -o PLAN.json");
  const Instance& inst = plan.instance;
  for (const PlanNode& n : inst.nodes) {
    const std::string kind = inst.kinds[n.kind];
    const NodeSpec* spec = nullptr;
    for (const NodeSpec& s : sweep.cluster.nodes)
      if (s.name == n.name) spec = &s;
    if (!spec)
      return Status::UserError(plan_path + ": node '" + n.name + "' is not in the cluster of " + sweep.path + again);
    if (spec->devices != n.devices || spec->kind != kind)
      return Status::UserError(plan_path + ": node '" + n.name + "' has " + Devices(n.devices, kind) + " in the plan, but " +
                               spec->loc.str() + " gives it " + Devices(spec->devices, spec->kind) + again);
  }
  std::map<std::string, long long> planned;
  for (const PlanJob& j : inst.jobs) planned[j.name] = j.steps;
  for (const JobSpec& j : sweep.jobs) {
    const auto it = planned.find(j.name);
    if (it == planned.end())
      return Status::UserError(j.loc.str() + ": job '" + j.name + "' is not in the plan " + plan_path + again);
    if (it->second != j.steps)
      return Status::UserError(j.loc.str() + ": job '" + j.name + "' trains " + std::to_string(j.steps) + " steps, but " +
                               plan_path + " planned " + std::to_string(it->second) + again);
  }
  return Status::Ok();
}

}  // namespace saturn
