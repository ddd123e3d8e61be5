// Small planning instances built directly, without sweep or profile files.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "plan/instance.h"
#include "plan/plan.h"
#include "plan/schedule.h"

namespace saturn::testing {

struct C {
  std::string technique;
  int devices;
  double seconds;
  int kind = 0;  // with node kinds (MakeInstance's node_kinds): the kind named "k<kind>"
};

// As BuildInstance does: placements, configurations no node arrangement can host dropped, each
// job's configurations ordered.
inline void FinishInstance(Instance* inst) {
  ComputePlacements(inst);
  for (auto& pj : inst->jobs) {
    pj.configs.erase(std::remove_if(pj.configs.begin(), pj.configs.end(),
                                    [](const Config& c) { return c.placements.empty(); }),
                     pj.configs.end());
    OrderConfigs(&pj);
  }
}

// Nodes "node0", ... and jobs "job0", ... of one step. With `node_kinds` (one per node), node n
// is of kind "k<node_kinds[n]>" and a configuration of kind k runs on kind "k<k>".
inline Instance MakeInstance(const std::vector<int>& node_devices, const std::vector<std::vector<C>>& jobs,
                             const std::vector<int>& node_kinds = {}) {
  Instance inst;
  inst.sweep = "test";
  std::vector<std::string> kinds;
  for (size_t n = 0; n < node_devices.size(); ++n) {
    inst.nodes.push_back({"node" + std::to_string(n), node_devices[n], 0});
    kinds.push_back(node_kinds.empty() ? "" : "k" + std::to_string(node_kinds[n]));
  }
  IndexKinds(&inst, kinds);
  for (size_t j = 0; j < jobs.size(); ++j) {
    PlanJob pj;
    pj.name = "job" + std::to_string(j);
    pj.steps = 1;
    for (const C& c : jobs[j]) {
      Config cfg;
      cfg.technique = c.technique;
      cfg.devices = c.devices;
      cfg.step_seconds = c.seconds;
      cfg.seconds = c.seconds;
      cfg.kind = node_kinds.empty() ? 0 : KindIndex(inst, "k" + std::to_string(c.kind));
      pj.configs.push_back(cfg);
    }
    inst.jobs.push_back(pj);
  }
  FinishInstance(&inst);
  return inst;
}

// A random instance whose durations are whole seconds, with mildly sublinear scaling.
inline Instance RandomInstance(std::mt19937& rng, const std::vector<int>& node_devices, int jobs,
                               const std::vector<int>& widths) {
  const char* techs[] = {"ddp", "fsdp", "pipeline", "offload"};
  std::vector<std::vector<C>> js;
  for (int j = 0; j < jobs; ++j) {
    int base = 4 + int(rng() % 20);
    std::vector<C> cs;
    for (int w : widths) {
      for (int t = 0; t < 2; ++t) {
        double eff = 0.6 + 0.4 * double(rng() % 100) / 100;
        int secs = std::max(1, int(std::ceil(base / (w * eff) + (w > 1 ? 1 : 0))));
        cs.push_back({techs[(j + t + w) % 4], w, double(secs)});
      }
    }
    js.push_back(cs);
  }
  return MakeInstance(node_devices, js);
}

// Every active schedule comes out of the serial generation scheme for some order, and every
// objective that never falls as an end time rises (the makespan, a weighted sum of end times)
// is optimal at an active schedule: trying every configuration, placement and order is exact.
inline double BruteForceMin(const Instance& inst, const std::function<double(const Schedule&)>& value) {
  const int J = int(inst.jobs.size());
  std::vector<std::vector<std::pair<int, int>>> options(J);
  for (int j = 0; j < J; ++j)
    for (int c = 0; c < int(inst.jobs[j].configs.size()); ++c)
      for (int p = 0; p < int(inst.jobs[j].configs[c].placements.size()); ++p) options[j].push_back({c, p});
  double best = INFINITY;
  std::vector<int> pick(J, 0);
  std::function<void(int)> rec = [&](int j) {
    if (j == J) {
      std::vector<int> perm(J);
      std::iota(perm.begin(), perm.end(), 0);
      do {
        std::vector<Choice> order;
        for (int k : perm) order.push_back({k, options[k][pick[k]].first, options[k][pick[k]].second});
        best = std::min(best, value(SerialSchedule(inst, order)));
      } while (std::next_permutation(perm.begin(), perm.end()));
      return;
    }
    for (pick[j] = 0; pick[j] < int(options[j].size()); ++pick[j]) rec(j + 1);
  };
  rec(0);
  return best;
}

// The least makespan of any schedule.
inline double BruteForceOptimum(const Instance& inst) {
  return BruteForceMin(inst, [](const Schedule& s) { return s.makespan(); });
}

}  // namespace saturn::testing
