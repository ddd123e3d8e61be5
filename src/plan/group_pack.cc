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
  return pick >= 0 ? pick : job.front.back();
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
    const Config& c = cfg(j);
    if (c.placements.front().nodes.size() < 2) continue;
    int best = -1;
    double best_t = INFINITY;
    for (int p = 0; p < int(c.placements.size()); ++p) {
      double t = 0;
      for (int n : c.placements[p].nodes) t = std::max(t, node_ready[n]);
      if (t < best_t) best_t = t, best = p;
    }
    for (int n : c.placements[best].nodes) node_ready[n] = best_t + c.seconds;
    choices[j] = {j, config[j], best};
    start[j] = best_t;
  }

  std::vector<Group> groups;
  for (int n = 0; n < n_nodes; ++n) groups.push_back({node_ready[n], n, inst.nodes[n].devices});
  for (size_t i = 0; i < order.size();) {
    const int w = cfg(order[i]).width();
    size_t end = i;
    while (end < order.size() && cfg(order[end]).width() == w) ++end;
    if (cfg(order[i]).placements.front().nodes.size() >= 2) { i = end; continue; }
    // Split every group wider than w into groups of w and a remainder for narrower jobs.
    std::vector<Group> split;
    for (const Group& g : groups) {
      if (g.size <= w) { split.push_back(g); continue; }
      for (int k = 0; k < g.size / w; ++k) split.push_back({g.ready, g.node, w});
      if (g.size % w) split.push_back({g.ready, g.node, g.size % w});
    }
    groups = std::move(split);
    // The single-node placement on each node (placements list nodes ascending, one per node).
    std::vector<int> placement_on(size_t(n_nodes), -1);
    const Placements& pls = cfg(order[i]).placements;
    for (int p = 0; p < int(pls.size()); ++p) placement_on[size_t(pls[p].nodes.front())] = p;
    // The groups of width w by (ready, index): best fit and first free in O(log groups) each.
    std::set<std::pair<double, int>> free;
    for (int g = 0; g < int(groups.size()); ++g)
      if (groups[g].size == w) free.insert({groups[g].ready, g});
    if (free.empty()) return Schedule{};  // no node holds this width: the caller keeps other schedules
    for (; i < end; ++i) {
      const int j = order[i];
      const double d = cfg(j).seconds;
      const int g = BestFit(free, d, target);
      free.erase({groups[g].ready, g});
      choices[j] = {j, config[j], placement_on[size_t(groups[g].node)]};
      start[j] = groups[g].ready;
      groups[g].ready += d;
      free.insert({groups[g].ready, g});
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
