#include "profile/trials.h"

#include <set>
#include <tuple>

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
