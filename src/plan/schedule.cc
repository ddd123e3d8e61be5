#include "plan/schedule.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace saturn {
namespace {

// Times are seconds up to ~1e7; a touch of slack keeps back-to-back jobs from "overlapping".
constexpr double kEps = 1e-6;

}  // namespace

double Schedule::makespan() const {
  double m = 0;
  for (const auto& a : jobs) m = std::max(m, a.end);
  return m;
}

Packer::Packer(const Instance& inst) : inst_(inst), busy_(inst.nodes.size()) {
  for (const Reservation& r : inst.reserved) Block(r.node, 0, r.until, int(r.device_ids.size()));
}

void Packer::Block(int node, double start, double end, int use) { busy_[node].push_back({start, end, use}); }

double Packer::node_end(int node) const {
  double e = 0;
  for (const auto& iv : busy_[node]) e = std::max(e, iv.end);
  return e;
}

bool Packer::Fits(int node, double start, double end, int use) const {
  int cap = inst_.nodes[node].devices - use;
  if (cap < 0) return false;
  // Peak use inside [start, end) happens at `start` or at some interval's start within it.
  auto load_at = [&](double t) {
    int load = 0;
    for (const auto& iv : busy_[node])
      if (iv.start <= t + kEps && t + kEps < iv.end) load += iv.use;
    return load;
  };
  if (load_at(start) > cap) return false;
  for (const auto& iv : busy_[node])
    if (iv.start > start + kEps && iv.start < end - kEps && load_at(iv.start) > cap) return false;
  return true;
}

double Packer::EarliestStart(const Placement& p, double seconds, double from) const {
  std::vector<double> cands = {from};
  for (int n : p.nodes)
    for (const auto& iv : busy_[n])
      if (iv.end > from) cands.push_back(iv.end);
  std::sort(cands.begin(), cands.end());
  for (double t : cands) {
    bool ok = true;
    for (size_t k = 0; k < p.nodes.size() && ok; ++k) ok = Fits(p.nodes[k], t, t + seconds, p.use[k]);
    if (ok) return t;
  }
  assert(false && "the last candidate is after every interval, so it always fits");
  return cands.back();
}

void Packer::Place(const Placement& p, double start, double seconds) {
  for (size_t k = 0; k < p.nodes.size(); ++k) busy_[p.nodes[k]].push_back({start, start + seconds, p.use[k]});
}

Schedule SerialSchedule(const Instance& inst, const std::vector<Choice>& order) {
  Schedule s;
  s.jobs.resize(inst.jobs.size());
  Packer packer(inst);
  for (const Choice& c : order) {
    const Config& cfg = inst.jobs[c.job].configs[c.config];
    const Placement& p = cfg.placements[c.placement];
    double t = packer.EarliestStart(p, cfg.seconds);
    packer.Place(p, t, cfg.seconds);
    s.jobs[c.job] = {c.config, c.placement, t, t + cfg.seconds, {}};
  }
  AssignDevices(inst, &s);
  return s;
}

Choice EarliestPlacement(const Instance& inst, const Packer& packer, int j, int config, double* finish) {
  const Config& c = inst.jobs[j].configs[config];
  Choice best{j, config, -1};
  *finish = INFINITY;
  for (int p = 0; p < int(c.placements.size()); ++p) {
    double f = packer.EarliestStart(c.placements[p], c.seconds) + c.seconds;
    if (f < *finish - 1e-9) *finish = f, best.placement = p;
  }
  return best;
}

std::vector<Choice> ListChoices(const Instance& inst, const std::vector<int>& order, const std::vector<int>& config,
                                std::vector<double>* finish) {
  Packer packer(inst);
  std::vector<Choice> choices;
  if (finish) finish->assign(inst.jobs.size(), 0);
  for (int j : order) {
    double f;
    Choice c = EarliestPlacement(inst, packer, j, config[j], &f);
    const Config& cfg = inst.jobs[j].configs[c.config];
    packer.Place(cfg.placements[c.placement], f - cfg.seconds, cfg.seconds);
    choices.push_back(c);
    if (finish) (*finish)[j] = f;
  }
  return choices;
}

Schedule ListSchedule(const Instance& inst, const std::vector<int>& order, const std::vector<int>& config) {
  return SerialSchedule(inst, ListChoices(inst, order, config));
}

void AssignDevices(const Instance& inst, Schedule* s) {
  std::vector<int> idx(s->jobs.size());
  for (size_t j = 0; j < idx.size(); ++j) idx[j] = int(j);
  std::sort(idx.begin(), idx.end(), [&](int a, int b) {
    return std::make_pair(s->jobs[a].start, a) < std::make_pair(s->jobs[b].start, b);
  });
  // free_at[node][device]: when that device is next free.
  std::vector<std::vector<double>> free_at(inst.nodes.size());
  for (size_t n = 0; n < inst.nodes.size(); ++n) free_at[n].assign(inst.nodes[n].devices, 0.0);
  // Reservations hold their devices from time 0, before any job starts, so assigning the rest
  // by start time still colours the intervals with no more ids than the capacity allows.
  for (const Reservation& r : inst.reserved)
    for (int d : r.device_ids) free_at[r.node][d] = std::max(free_at[r.node][d], r.until);
  for (int j : idx) {
    Assignment& a = s->jobs[j];
    if (a.config < 0) continue;
    const Placement& p = inst.jobs[j].configs[a.config].placements[a.placement];
    a.device_ids.assign(p.nodes.size(), {});
    for (size_t k = 0; k < p.nodes.size(); ++k) {
      auto& fa = free_at[p.nodes[k]];
      for (int d = 0; d < int(fa.size()) && int(a.device_ids[k].size()) < p.use[k]; ++d)
        if (fa[d] <= a.start + kEps) a.device_ids[k].push_back(d);
      for (int d : a.device_ids[k]) fa[d] = a.end;
      // Capacity-feasible schedules always have enough free devices (see Packer); CheckSchedule
      // reports it if a caller broke that.
    }
  }
}

Status CheckSchedule(const Instance& inst, const Schedule& s) {
  auto fail = [](const std::string& m) { return Status::Internal("plan check failed: " + m); };
  if (s.jobs.size() != inst.jobs.size()) return fail("schedule has " + std::to_string(s.jobs.size()) + " jobs, instance " + std::to_string(inst.jobs.size()));
  std::map<std::pair<int, int>, std::vector<std::pair<double, double>>> per_device;
  for (const Reservation& r : inst.reserved) {
    if (r.node < 0 || r.node >= int(inst.nodes.size())) return fail(r.job + ": reserved on no node");
    for (int d : r.device_ids) {
      if (d < 0 || d >= inst.nodes[r.node].devices) return fail(r.job + ": reserved device id out of range");
      per_device[{r.node, d}].push_back({0, r.until});
    }
  }
  for (size_t j = 0; j < s.jobs.size(); ++j) {
    const Assignment& a = s.jobs[j];
    const PlanJob& pj = inst.jobs[j];
    if (a.config < 0 || a.config >= int(pj.configs.size())) return fail(pj.name + ": no valid configuration");
    const Config& c = pj.configs[a.config];
    if (a.placement < 0 || a.placement >= int(c.placements.size())) return fail(pj.name + ": no valid placement");
    if (a.start < -kEps) return fail(pj.name + ": starts before 0");
    if (std::fabs((a.end - a.start) - c.seconds) > 1e-6 * std::max(1.0, c.seconds))
      return fail(pj.name + ": lasts " + std::to_string(a.end - a.start) + " s, profile says " + std::to_string(c.seconds));
    const Placement& p = c.placements[a.placement];
    if (a.device_ids.size() != p.nodes.size()) return fail(pj.name + ": device ids missing");
    for (size_t k = 0; k < p.nodes.size(); ++k) {
      std::vector<int> ids = a.device_ids[k];
      std::sort(ids.begin(), ids.end());
      if (int(ids.size()) != p.use[k] || std::unique(ids.begin(), ids.end()) != ids.end())
        return fail(pj.name + ": holds " + std::to_string(ids.size()) + " distinct devices on node " + inst.nodes[p.nodes[k]].name + ", needs " + std::to_string(p.use[k]));
      for (int d : ids) {
        if (d < 0 || d >= inst.nodes[p.nodes[k]].devices) return fail(pj.name + ": device id out of range");
        per_device[{p.nodes[k], d}].push_back({a.start, a.end});
      }
    }
  }
  for (auto& [dev, ivs] : per_device) {
    std::sort(ivs.begin(), ivs.end());
    for (size_t i = 1; i < ivs.size(); ++i)
      if (ivs[i].first < ivs[i - 1].second - kEps)
        return fail("device " + std::to_string(dev.second) + " of node " + inst.nodes[dev.first].name + " runs two jobs at once");
  }
  return Status::Ok();
}

double LowerBound(const Instance& inst) {
  // A schedule of makespan C runs each job in a configuration no longer than C, so it spends at
  // least A(C) = sum over jobs of the least device-seconds among those configurations, and
  // A(C) <= devices x C. A(C) only falls as C grows and is constant between the configurations'
  // durations, so the least feasible C is found by walking those breakpoints upwards.
  // Reservations add their device-seconds to every A(C), and C is at least their last end.
  std::vector<double> points;
  double longest = 0, held = 0;
  int out_of_use = 0;  // devices excluded for good: not there at all, as far as the bound goes
  for (const Reservation& r : inst.reserved) {
    if (r.out_of_use) {
      out_of_use += int(r.device_ids.size());
      continue;
    }
    longest = std::max(longest, r.until), held += r.until * r.device_ids.size();
  }
  for (const auto& j : inst.jobs) {
    double fastest = INFINITY;
    for (const auto& c : j.configs) fastest = std::min(fastest, c.seconds), points.push_back(c.seconds);
    longest = std::max(longest, fastest);
  }
  std::sort(points.begin(), points.end());
  points.erase(std::remove_if(points.begin(), points.end(), [&](double p) { return p <= longest; }), points.end());
  points.insert(points.begin(), longest);
  const double devices = inst.total_devices() - out_of_use;
  if (devices <= 0) return longest;
  for (size_t k = 0; k < points.size(); ++k) {
    double area = held;
    for (const auto& j : inst.jobs) {
      double least = INFINITY;
      for (const auto& c : j.configs)
        if (c.seconds <= points[k]) least = std::min(least, c.seconds * c.width());
      area += least;
    }
    double c = std::max(points[k], area / devices);
    if (k + 1 == points.size() || c < points[k + 1]) return c;
  }
  return longest;  // not reached: the last point always returns
}

}  // namespace saturn
