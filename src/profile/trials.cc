#include "profile/trials.h"

#include <set>
#include <tuple>

namespace saturn {

std::string Trial::label() const {
  return (links ? std::string("links") : job->name + " " + technique) + " x" + std::to_string(devices) +
         (nodes > 1 ? " over " + std::to_string(nodes) + " nodes" : "");
}

std::vector<Trial> LinkTrials(const Sweep& sweep, int nodes_within_reach) {
  std::vector<Trial> out;
  const int widest = sweep.cluster.max_node_devices();
  auto add = [&](int devices, int nodes) {
    Trial t;
    t.devices = devices;
    t.nodes = nodes;
    t.links = true;
    out.push_back(t);
  };
  for (int k = 2; k <= widest; ++k) add(k, 1);
  for (int m = 2; m < nodes_within_reach; m *= 2) add(m * widest, m);
  if (nodes_within_reach >= 2) add(nodes_within_reach * widest, nodes_within_reach);
  return out;
}

TrialPlan PlanTrials(const Sweep& sweep, const FeasibleFn& feasible, const KnobsFn& knobs) {
  TrialPlan plan;
  // Each (cost key, technique, device count) once, under the first job of the key that allows
  // it: jobs sharing a key may allow different techniques and counts, and need them all.
  std::set<std::tuple<std::string, std::string, int>> seen;
  for (const JobSpec& job : sweep.jobs) {
    for (const std::string& t : job.techniques) {
      for (int k : job.devices) {
        if (!seen.insert({job.cost_key(), t, k}).second) continue;
        std::string why = feasible(job, t, k);
        if (why.empty()) {
          Trial trial;
          trial.job = &job;
          trial.technique = t;
          trial.devices = k;
          if (knobs) knobs(&trial);
          plan.trials.push_back(trial);
          continue;
        }
        ProfileRecord r;
        r.job = job.name;
        r.technique = t;
        r.devices = k;
        r.feasible = false;
        r.reason = why;
        plan.infeasible.push_back(r);
      }
    }
  }
  return plan;
}

}  // namespace saturn
