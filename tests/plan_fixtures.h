// Small planning instances built directly, without sweep or profile files.
#pragma once

#include <algorithm>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "plan/instance.h"
#include "plan/plan.h"

namespace saturn::testing {

struct C {
  std::string technique;
  int devices;
  double seconds;
};

inline Instance MakeInstance(const std::vector<int>& node_devices, const std::vector<std::vector<C>>& jobs) {
  Instance inst;
  inst.sweep = "test";
  for (size_t n = 0; n < node_devices.size(); ++n) inst.nodes.push_back({"node" + std::to_string(n), node_devices[n]});
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
      pj.configs.push_back(cfg);
    }
    inst.jobs.push_back(pj);
  }
  ComputePlacements(&inst);
  for (auto& pj : inst.jobs) {
    // As BuildInstance does: configurations no node arrangement can host drop out.
    pj.configs.erase(std::remove_if(pj.configs.begin(), pj.configs.end(),
                                    [](const Config& c) { return c.placements.empty(); }),
                     pj.configs.end());
    OrderConfigs(&pj);
  }
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

}  // namespace saturn::testing
