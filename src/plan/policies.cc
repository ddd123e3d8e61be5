#include "plan/policies.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "plan/objective.h"
#include "technique/names.h"
#include "util/clock.h"

namespace saturn {
namespace {

int TechniqueRank(const std::string& t) {
  const auto& names = TechniqueNames();
  return int(std::find(names.begin(), names.end(), t) - names.begin());
}

// The default technique a user without a planner would pick for this job: the first in
// TechniqueNames() order that is feasible at some device count.
std::string DefaultTechnique(const PlanJob& job) {
  std::string best;
  for (const auto& c : job.configs)
    if (best.empty() || TechniqueRank(c.technique) < TechniqueRank(best)) best = c.technique;
  return best;
}

// The widest configuration of the default technique no wider than `max_width`, else its
// narrowest one; only on node kind `kind` when that is not -1 (-1 when it has none there).
int DefaultConfig(const PlanJob& job, int max_width, int kind = -1) {
  std::string tech = DefaultTechnique(job);
  int best = -1, narrowest = -1;
  for (int i = 0; i < int(job.configs.size()); ++i) {
    const Config& c = job.configs[i];
    if (c.technique != tech || (kind >= 0 && c.kind != kind)) continue;
    if (narrowest < 0 || c.width() < job.configs[narrowest].width()) narrowest = i;
    if (c.width() <= max_width && (best < 0 || c.width() > job.configs[best].width() ||
                                   (c.width() == job.configs[best].width() && c.seconds < job.configs[best].seconds)))
      best = i;
  }
  return best >= 0 ? best : narrowest;
}

std::vector<int> OrderBy(const Instance& inst, const std::vector<double>& key) {
  std::vector<int> order(inst.jobs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return key[a] > key[b]; });
  return order;
}

// Jobs with deadlines first, earliest deadline first; the rest by `key`, highest first.
std::vector<int> DeadlinesFirst(const Instance& inst, const std::vector<double>& key) {
  std::vector<int> order = OrderBy(inst, key);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return inst.jobs[size_t(a)].deadline < inst.jobs[size_t(b)].deadline; });
  return order;
}

}  // namespace

std::vector<Choice> ChoicesByStart(const Schedule& s) {
  std::vector<int> idx(s.jobs.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return s.jobs[a].start < s.jobs[b].start; });
  std::vector<Choice> out;
  for (int j : idx) out.push_back({j, s.jobs[j].config, s.jobs[j].placement});
  return out;
}

Schedule OnFront(const Instance& inst, const Schedule& s) {
  std::vector<Choice> order = ChoicesByStart(s);
  for (Choice& c : order) {
    const PlanJob& job = inst.jobs[c.job];
    const Config& now = job.configs[c.config];
    const std::vector<int>& nodes = now.placements[c.placement].nodes;
    // The front holds, for every width and kind, the fastest configuration no wider: take the
    // widest front member of its kind no wider than the current one.
    int pick = -1;
    for (int f : job.front)
      if (job.configs[f].kind == now.kind && (pick < 0 || job.configs[f].width() <= now.width())) pick = f;
    if (pick < 0) continue;
    const auto& pls = job.configs[pick].placements;
    int place = -1;
    for (int q = 0; q < int(pls.size()) && place < 0; ++q)  // same nodes, else inside them
      if (pls[q].nodes == nodes) place = q;
    for (int q = 0; q < int(pls.size()) && place < 0; ++q)
      if (std::includes(nodes.begin(), nodes.end(), pls[q].nodes.begin(), pls[q].nodes.end())) place = q;
    if (place < 0) continue;  // unaligned node blocks: keep what it had
    c.config = pick;
    c.placement = place;
  }
  return SerialSchedule(inst, order);
}

Schedule CurrentPracticeSchedule(const Instance& inst) {
  // Each job takes a whole node (or whole nodes) for itself, in sweep order, wherever one frees
  // first. The packer sees whole nodes; the job runs on its configuration's devices.
  // On a cluster of several kinds, the job goes to whichever kind's node frees first.
  Packer packer(inst);
  std::vector<int> max_node(inst.kinds.size(), 0);
  for (const auto& n : inst.nodes) max_node[size_t(n.kind)] = std::max(max_node[size_t(n.kind)], n.devices);
  Schedule s;
  s.jobs.resize(inst.jobs.size());
  for (int j = 0; j < int(inst.jobs.size()); ++j) {
    int ci = -1, best_p = -1;
    double best_t = INFINITY;
    for (int kind = 0; kind < int(inst.kinds.size()); ++kind) {
      const int k_ci = DefaultConfig(inst.jobs[j], max_node[size_t(kind)], inst.kinds.size() > 1 ? kind : -1);
      if (k_ci < 0) continue;
      const Config& c = inst.jobs[j].configs[size_t(k_ci)];
      for (int p = 0; p < int(c.placements.size()); ++p) {
        Placement whole = c.placements[p];
        for (size_t k = 0; k < whole.nodes.size(); ++k) whole.use[k] = inst.nodes[whole.nodes[k]].devices;
        double t = packer.EarliestStart(whole, c.seconds, inst.jobs[j].release);
        if (t < best_t - 1e-9) best_t = t, best_p = p, ci = k_ci;
      }
    }
    const Config& c = inst.jobs[j].configs[size_t(ci)];
    Placement whole = c.placements[best_p];
    for (size_t k = 0; k < whole.nodes.size(); ++k) whole.use[k] = inst.nodes[whole.nodes[k]].devices;
    packer.Place(whole, best_t, c.seconds);
    s.jobs[j] = {ci, best_p, best_t, best_t + c.seconds, {}};
  }
  AssignDevices(inst, &s);
  return s;
}

Schedule UniformSchedule(const Instance& inst) {
  int share = std::max(1, inst.total_devices() / std::max<int>(1, int(inst.jobs.size())));
  std::vector<int> config(inst.jobs.size()), order(inst.jobs.size());
  for (size_t j = 0; j < inst.jobs.size(); ++j) config[j] = DefaultConfig(inst.jobs[j], share), order[j] = int(j);
  return ListSchedule(inst, order, config);
}

Schedule GreedySchedule(const Instance& inst) {
  std::vector<int> config(inst.jobs.size());
  std::vector<double> dur(inst.jobs.size());
  for (size_t j = 0; j < inst.jobs.size(); ++j) {
    const auto& cs = inst.jobs[j].configs;
    int best = 0;
    for (int i = 1; i < int(cs.size()); ++i)
      if (cs[i].seconds < cs[best].seconds) best = i;  // configs are ordered: ties keep the narrower
    config[j] = best;
    dur[j] = cs[best].seconds;
  }
  return ListSchedule(inst, OrderBy(inst, dur), config);
}

namespace {

// "Earliest finish": each job, in `order`, takes whichever front configuration and placement
// finishes first given the jobs already placed.
Schedule EarliestFinishSchedule(const Instance& inst, const std::vector<int>& order) {
  Packer packer(inst);
  std::vector<Choice> choices;
  for (int j : order) {
    Choice pick;
    double best_f = INFINITY;
    for (int i : inst.jobs[j].front) {
      double f;
      Choice c = EarliestPlacement(inst, packer, j, i, &f);
      if (f < best_f - 1e-9) best_f = f, pick = c;
    }
    const Config& cfg = inst.jobs[j].configs[pick.config];
    packer.Place(cfg.placements[pick.placement], best_f - cfg.seconds, cfg.seconds);
    choices.push_back(pick);
  }
  return SerialSchedule(inst, choices);
}

}  // namespace

Schedule HeuristicSchedule(const Instance& inst, double seconds, double lower_bound) {
  // Moldable-job list scheduling: pick each job's width against a target makespan T (the
  // narrowest front configuration that finishes within T, else the fastest), then list-schedule
  // longest first. Sweeping T from the lower bound upwards trades width for parallelism; the
  // best schedule wins. Also "earliest finish": each job, longest first, takes whichever front
  // configuration and placement finishes first given the jobs already placed.
  //
  // Within `seconds`, each family of candidates gets until its share of them has passed (the
  // first candidate always runs): every one runs on sweeps of hundreds of jobs, and at
  // thousands the families still each get their turn.
  auto t0 = std::chrono::steady_clock::now();
  auto before = [&](double share) { return SecondsSince(t0) < share * seconds; };
  //
  // Under mean-completion, list orders by Smith's rule (priority per second, and per
  // device-second) join them; with deadlines, each order also with the deadline jobs first.
  const double lb = lower_bound >= 0 ? lower_bound : LowerBound(inst);
  const bool mean = inst.objective == "mean-completion", deadlines = HasDeadlines(inst);
  Schedule best;
  Score best_score;
  auto consider = [&](Schedule s) {
    if (s.jobs.size() != inst.jobs.size()) return;
    const Score k = PlanScore(inst, s);
    // Strictly better: the first of equal candidates stays.
    if (best.jobs.empty() || Better(k, best_score)) best_score = k, best = std::move(s);
  };
  auto orders = [&](const std::vector<double>& key) {
    std::vector<std::vector<int>> out = {OrderBy(inst, key)};
    if (deadlines) out.push_back(DeadlinesFirst(inst, key));
    return out;
  };
  // The baselines first, whatever the time: the optimizing policy never returns a plan worse
  // than one of them, and each is a single list schedule.
  consider(OnFront(inst, GreedySchedule(inst)));
  consider(OnFront(inst, UniformSchedule(inst)));
  consider(OnFront(inst, CurrentPracticeSchedule(inst)));
  const size_t n = inst.jobs.size();
  for (double f : {1.0, 1.05, 1.1, 1.2, 1.35, 1.5, 1.75, 2.0, 2.5, 3.0}) {
    if (f > 1.0 && !before(0.3)) break;
    std::vector<int> config(n);
    std::vector<double> dur(n), area(n);
    for (size_t j = 0; j < n; ++j) {
      const PlanJob& job = inst.jobs[j];
      config[j] = job.fastest();
      for (int i : job.front)
        if (job.configs[i].seconds <= f * lb) { config[j] = i; break; }
      dur[j] = job.configs[config[j]].seconds;
      area[j] = dur[j] * job.configs[config[j]].width();
    }
    std::vector<std::vector<double>> keys = {dur, area};
    if (mean) {
      std::vector<double> per_second(n), per_area(n);
      for (size_t j = 0; j < n; ++j)
        per_second[j] = inst.jobs[j].weight / std::max(dur[j], 1e-9),
        per_area[j] = inst.jobs[j].weight / std::max(area[j], 1e-9);
      keys.push_back(per_second);
      keys.push_back(per_area);
    }
    for (const auto& key : keys)
      for (const auto& order : orders(key)) consider(ListSchedule(inst, order, config));
  }
  std::vector<double> least_area(n);
  for (size_t j = 0; j < n; ++j) {
    least_area[j] = INFINITY;
    for (int i : inst.jobs[j].front)
      least_area[j] = std::min(least_area[j], inst.jobs[j].configs[i].seconds * inst.jobs[j].configs[i].width());
  }
  std::vector<double> finish_key = least_area;
  if (mean)
    for (size_t j = 0; j < n; ++j) finish_key[j] = inst.jobs[j].weight / std::max(least_area[j], 1e-9);
  for (const auto& order : orders(finish_key))
    if (before(0.45)) consider(EarliestFinishSchedule(inst, order));
  // Group packing, the target swept upwards from the bound in steps of 0.5%.
  for (int k = 0; k <= 60 && before(0.85); ++k) consider(GroupPackSchedule(inst, lb * (1 + 0.005 * k)));
  return best;
}

}  // namespace saturn
