#include "profile/trials.h"

#include <set>

namespace saturn {

std::string Trial::label() const {
  return (links ? std::string("links") : job->name + " " + technique) + " x" + std::to_string(devices);
}

std::vector<Trial> LinkTrials(const Sweep& sweep) {
  std::vector<Trial> out;
  for (int k = 2; k <= sweep.cluster.max_node_devices(); ++k) {
    Trial t;
    t.devices = k;
    t.links = true;
    out.push_back(t);
  }
  return out;
}

TrialPlan PlanTrials(const Sweep& sweep, const FeasibleFn& feasible, const KnobsFn& knobs) {
  TrialPlan plan;
  std::set<std::string> keys;
  const int node = sweep.cluster.max_node_devices();
  for (const JobSpec& job : sweep.jobs) {
    if (!keys.insert(job.cost_key()).second) continue;
    for (const std::string& t : job.techniques) {
      for (int k : job.devices) {
        if (k > node) {
          plan.skipped.push_back(job.name + " " + t + " x" + std::to_string(k));
          continue;
        }
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
