// Group packing: a moldable heuristic for sweeps with many jobs per node.
//
// List scheduling with mixed widths fragments nodes: a wide job waits for a whole node to drain
// while narrow jobs end at staggered times. Here each node is cut into groups of devices, wide
// groups first: jobs of the widest width run back to back on a group of that width, then every
// group splits into groups of the next width, which start when their parent's last job ends,
// and so on down to single devices. Within a width, longest first, each job goes to the group
// that ends latest while still finishing by the target (best fit), else to the group that ends
// first. Groups never share devices, so the result is feasible; SerialSchedule then compacts it.
#include <algorithm>
#include <climits>
#include <cmath>
#include <numeric>
#include <set>

#include "plan/policies.h"

namespace saturn {
namespace {

struct Group {
  double ready;  // when its last job ends
  int node;
  int size;      // devices
};

// The front configuration with the least device-seconds among those finishing within `target`
// (the narrower on ties), else the fastest.
int Allot(const PlanJob& job, double target) {
  int pick = -1;
  double least = INFINITY;
  for (int i : job.front) {
    const Config& c = job.configs[i];
    if (c.seconds <= target && c.seconds * c.width() < least) least = c.seconds * c.width(), pick = i;
  }
  return pick >= 0 ? pick : job.fastest();
}

// Among `free` (groups by ready time, then index): the one ending latest that still finishes a
// job of `d` seconds by `target`, the lowest index among equals; else the one ending first.
int BestFit(const std::set<std::pair<double, int>>& free, double d, double target) {
  auto it = free.upper_bound({target - d, INT_MAX});
  // Rounding: target - d and ready + d <= target may disagree at the edge; settle on the latter.
  while (it != free.end() && it->first + d <= target) ++it;
  while (it != free.begin() && std::prev(it)->first + d > target) --it;
  if (it == free.begin()) return free.begin()->second;
  const double ready = std::prev(it)->first;
  return free.lower_bound({ready, INT_MIN})->second;
}

}  // namespace

Schedule GroupPackSchedule(const Instance& inst, double target) {
  const int n_jobs = int(inst.jobs.size()), n_nodes = int(inst.nodes.size());
  std::vector<int> config(n_jobs);
  for (int j = 0; j < n_jobs; ++j) config[j] = Allot(inst.jobs[j], target);
  auto cfg = [&](int j) -> const Config& { return inst.jobs[j].configs[config[j]]; };
  // Widest first, then longest, then index: deterministic.
  std::vector<int> order(n_jobs);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if (cfg(a).width() != cfg(b).width()) return cfg(a).width() > cfg(b).width();
    return cfg(a).seconds > cfg(b).seconds;
  });

  std::vector<Choice> choices(n_jobs);
  std::vector<double> start(n_jobs, 0);
  std::vector<double> node_ready(n_nodes, 0);
  // Jobs spanning whole nodes: the block of nodes that frees first.
  for (int j : order) {
    if (cfg(j).placements.front().nodes.size() < 2) continue;
    int best_c = -1, best_p = -1;
    double best_t = INFINITY;
    // Its allotted configuration and, on a cluster of several kinds, the same on the others.
    inst.jobs[j].ForAlike(config[j], [&](int ci) {
      const Config& c = inst.jobs[j].configs[size_t(ci)];
      if (c.placements.front().nodes.size() < 2) return;
      for (int p = 0; p < int(c.placements.size()); ++p) {
        double t = 0;
        for (int n : c.placements[p].nodes) t = std::max(t, node_ready[n]);
        if (t + c.seconds < best_t - 1e-9) best_t = t + c.seconds, best_c = ci, best_p = p;
      }
    });
    const Config& c = inst.jobs[j].configs[size_t(best_c)];
    for (int n : c.placements[best_p].nodes) node_ready[n] = best_t;
    choices[j] = {j, best_c, best_p};
    start[j] = best_t - c.seconds;
  }

  std::vector<Group> groups;
  for (int n = 0; n < n_nodes; ++n) groups.push_back({node_ready[n], n, inst.nodes[n].devices});
  const int kinds = int(inst.kinds.size());
  for (size_t i = 0; i < order.size();) {
    const int w = cfg(order[i]).width();
    size_t end = i;
    while (end < order.size() && cfg(order[end]).width() == w) ++end;
    // Jobs across nodes were placed above. With several kinds one width can hold both (8
    // devices are two nodes of 4 on one kind, one node of 8 on another): decide per job.
    auto spans = [&](int j) { return cfg(j).placements.front().nodes.size() >= 2; };
    if (std::all_of(order.begin() + long(i), order.begin() + long(end), spans)) { i = end; continue; }
    // Split every group wider than w into groups of w and a remainder for narrower jobs.
    std::vector<Group> split;
    for (const Group& g : groups) {
      if (g.size <= w) { split.push_back(g); continue; }
      for (int k = 0; k < g.size / w; ++k) split.push_back({g.ready, g.node, w});
      if (g.size % w) split.push_back({g.ready, g.node, g.size % w});
    }
    groups = std::move(split);
    // The groups of width w per kind by (ready, index): best fit and first free in O(log groups).
    std::vector<std::set<std::pair<double, int>>> free(static_cast<size_t>(kinds));
    for (int g = 0; g < int(groups.size()); ++g)
      if (groups[g].size == w) free[size_t(inst.nodes[size_t(groups[g].node)].kind)].insert({groups[g].ready, g});
    // placement_on[kind][node]: the single-node placement on that node of a configuration of w
    // devices on that kind (placements list nodes ascending, one per node; shared per count).
    std::vector<std::vector<int>> placement_on(static_cast<size_t>(kinds));
    for (; i < end; ++i) {
      const int j = order[i];
      if (spans(j)) continue;
      int pick_c = -1, pick_g = -1;
      bool pick_fits = false;
      double pick_ready = 0, pick_finish = INFINITY;
      inst.jobs[j].ForAlike(config[j], [&](int ci) {
        const Config& c = inst.jobs[j].configs[size_t(ci)];
        auto& fk = free[size_t(c.kind)];
        if (fk.empty() || c.width() != w || c.placements.front().nodes.size() != 1) return;
        auto& on = placement_on[size_t(c.kind)];
        if (on.empty()) {
          on.assign(size_t(n_nodes), -1);
          for (int p = 0; p < int(c.placements.size()); ++p) on[size_t(c.placements[p].nodes.front())] = p;
        }
        const int g = BestFit(fk, c.seconds, target);
        const double ready = groups[g].ready, finish = ready + c.seconds;
        const bool fits = finish <= target;
        // Best fit within the target (the latest-ready group), else the earliest finish.
        const bool better = pick_c < 0 || (fits && !pick_fits) ||
                            (fits && pick_fits && ready > pick_ready) || (!fits && !pick_fits && finish < pick_finish - 1e-9);
        if (better) pick_c = ci, pick_g = g, pick_fits = fits, pick_ready = ready, pick_finish = finish;
      });
      if (pick_c < 0) return Schedule{};  // no node holds this width: the caller keeps other schedules
      const Config& c = inst.jobs[j].configs[size_t(pick_c)];
      auto& fk = free[size_t(c.kind)];
      fk.erase({groups[pick_g].ready, pick_g});
      choices[j] = {j, pick_c, placement_on[size_t(c.kind)][size_t(groups[pick_g].node)]};
      start[j] = groups[pick_g].ready;
      groups[pick_g].ready += c.seconds;
      fk.insert({groups[pick_g].ready, pick_g});
    }
  }

  std::vector<int> by_start(n_jobs);
  std::iota(by_start.begin(), by_start.end(), 0);
  std::stable_sort(by_start.begin(), by_start.end(), [&](int a, int b) { return start[a] < start[b]; });
  std::vector<Choice> ordered;
  for (int j : by_start) ordered.push_back(choices[j]);
  return SerialSchedule(inst, ordered);
}

}  // namespace saturn
