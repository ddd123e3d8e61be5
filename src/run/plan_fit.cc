#include "run/plan_fit.h"

#include <algorithm>
#include <map>

namespace saturn {
namespace {

std::string Devices(int devices, const std::string& kind) {
  return std::to_string(devices) + " device(s)" + (kind.empty() ? "" : " of kind '" + kind + "'");
}

// Every configuration the plan holds for the job, not only the scheduled one: a re-plan may
// switch the job to any of them.
Status CheckConfigs(const PlanJob& pj, const JobSpec& j, const std::string& plan_path, const std::string& again) {
  for (const Config& c : pj.configs) {
    const bool technique = std::count(j.techniques.begin(), j.techniques.end(), c.technique) > 0;
    const bool devices = std::count(j.devices.begin(), j.devices.end(), c.devices) > 0;
    if (!technique || !devices)
      return Status::UserError(j.loc.str() + ": job '" + j.name + "' no longer allows " +
                               (technique ? std::to_string(c.devices) + " device(s)" : "technique " + c.technique) +
                               ", which " + plan_path + " may run it with" + again);
  }
  return Status::Ok();
}

}  // namespace

Status CheckPlanFitsSweep(const Plan& plan, const std::string& plan_path, const Sweep& sweep,
                          const std::string& replan_hint) {
  const std::string again = "; plan this sweep again (" + replan_hint + ")";
  if (!plan.sweep.empty() && plan.sweep != sweep.name)
    return Status::UserError(plan_path + ": a plan of sweep '" + plan.sweep + "', not of '" + sweep.name + "' (" +
                             sweep.path + "); plan this sweep: saturn plan " + sweep.path + " --profile PROFILE.json -o PLAN.json");
  const Instance& inst = plan.instance;
  const std::vector<NodeSpec>& nodes = sweep.cluster.nodes;
  for (size_t i = 0; i < inst.nodes.size(); ++i) {
    const PlanNode& n = inst.nodes[i];
    const std::string& kind = inst.kinds[size_t(n.kind)];
    const auto spec = std::find_if(nodes.begin(), nodes.end(), [&](const NodeSpec& s) { return s.name == n.name; });
    if (spec == nodes.end())
      return Status::UserError(plan_path + ": node '" + n.name + "' is not in the cluster of " + sweep.path + again);
    if (spec->devices != n.devices || spec->kind != kind)
      return Status::UserError(plan_path + ": node '" + n.name + "' has " + Devices(n.devices, kind) + " in the plan, but " +
                               spec->loc.str() + " gives it " + Devices(spec->devices, spec->kind) + again);
    // Inside Slurm the plan's nodes map to the allocation's in order (launch/hosts.h).
    if (spec != nodes.begin() + long(i))
      return Status::UserError(plan_path + ": node '" + n.name + "' is node " + std::to_string(i + 1) +
                               " of the plan, but " + spec->loc.str() + " makes it node " +
                               std::to_string(spec - nodes.begin() + 1) + " of the cluster" + again);
  }
  std::map<std::string, const PlanJob*> planned;
  for (const PlanJob& j : inst.jobs) {
    if (!sweep.find_job(j.name))
      return Status::UserError(plan_path + ": job '" + j.name + "' is not in " + sweep.path + again);
    planned[j.name] = &j;
  }
  for (const JobSpec& j : sweep.jobs) {
    const auto it = planned.find(j.name);
    if (it == planned.end())
      return Status::UserError(j.loc.str() + ": job '" + j.name + "' is not in the plan " + plan_path + again);
    if (it->second->steps != j.steps)
      return Status::UserError(j.loc.str() + ": job '" + j.name + "' trains " + std::to_string(j.steps) + " steps, but " +
                               plan_path + " planned " + std::to_string(it->second->steps) + again);
    SATURN_RETURN_IF_ERROR(CheckConfigs(*it->second, j, plan_path, again));
  }
  return Status::Ok();
}

}  // namespace saturn
