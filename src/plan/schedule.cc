#include "plan/schedule.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
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

Packer::Packer(const Instance& inst)
    : inst_(inst), steps_(inst.nodes.size(), std::vector<Step>{{0.0, 0}}), room_(inst.nodes.size()) {
  for (size_t n = 0; n < inst.nodes.size(); ++n) room_[n].assign(size_t(std::max(inst.nodes[n].devices, 0)) + 1, 0);
  for (const Reservation& r : inst.reserved) Block(r.node, 0, r.until, int(r.device_ids.size()));
}

// How many of `st`'s steps begin at or before `t`.
size_t Packer::StepsUpTo(const std::vector<Step>& st, double t) {
  return size_t(std::upper_bound(st.begin(), st.end(), t, [](double x, const Step& s) { return x < s.at; }) - st.begin());
}

void Packer::Block(int node, double start, double end, int use) {
  if (!(end > start)) return;
  std::vector<Step>& st = steps_[node];
  std::vector<size_t>& room = room_[node];
  // A breakpoint at `t`, holding the load that was there before it; returns its index.
  auto split = [&](double t) -> size_t {
    const size_t k = StepsUpTo(st, t);
    if (k > 0 && st[k - 1].at == t) return k - 1;
    const int load = k > 0 ? st[k - 1].load : 0;
    st.insert(st.begin() + std::ptrdiff_t(k), Step{t, load});
    // A copy of the step before k has no room where that had none; a first step (a block
    // before 0) is empty, and the walk below moves each index on from it.
    for (size_t& r : room) r = k == 0 ? 0 : r + (r >= k);
    return k;
  };
  const size_t a = split(start);
  const size_t b = split(end);
  for (size_t k = a; k < b; ++k) st[k].load += use;
  const int devices = inst_.nodes[node].devices;
  for (size_t u = 1; u < room.size(); ++u)  // loads only grow: each index only walks on
    while (st[room[u]].load > devices - int(u)) ++room[u];  // stops at the last step, load 0
}

double Packer::node_end(int node) const {
  const std::vector<Step>& st = steps_[node];
  return st.size() > 1 ? st.back().at : 0.0;
}

double Packer::EarliestOn(int node, double from, double seconds, int use) const {
  const int cap = inst_.nodes[node].devices - use;
  if (cap < 0) return INFINITY;
  const std::vector<Step>& st = steps_[node];
  // Loads are read at t + kEps, and a window [t, t + seconds) covers the steps met in
  // [t + kEps, t + seconds - kEps): a job may start within kEps of one ending.
  double t = from;
  // The window's first step: the last beginning at or before t + kEps (most queries start at 0).
  size_t k = st.size() > 1 && st[1].at <= t + kEps ? StepsUpTo(st, t + kEps) - 1 : 0;
  // Every step before the first with room (r) is full, and the walk below would cross them one
  // at a time. When r begins past every earlier step's window start (r-1's at + kEps, as the
  // walk compares), the walk arrives exactly at r: start there. Else walk (rare: steps closer
  // than kEps).
  if (const size_t r = room_[node][size_t(use)]; r > k && st[r].at > st[r - 1].at + kEps) {
    t = std::max(t, st[r].at);
    for (k = r; k + 1 < st.size() && st[k + 1].at <= t + kEps;) ++k;
  }
  for (;;) {
    bool fits = true;
    size_t i = k;
    for (; i < st.size() && (i == k || st[i].at < t + seconds - kEps); ++i)
      if (st[i].load > cap) {
        fits = false;
        break;
      }
    if (fits) return t;
    // Every start before the step after the full one still overlaps it. That step begins after
    // t (steps from k on begin past t - kEps), so the window's first step is found walking on
    // from it: a node full for many steps costs one pass over them, not a search each.
    if (i + 1 >= st.size()) return INFINITY;  // not reached: the last step's load is 0
    t = std::max(t, st[i + 1].at);
    for (k = i + 1; k + 1 < st.size() && st[k + 1].at <= t + kEps;) ++k;
  }
}

double Packer::StartBound(const Placement& p) const {
  double bound = 0;
  for (size_t k = 0; k < p.nodes.size(); ++k) {
    if (p.use[k] > inst_.nodes[p.nodes[k]].devices) return INFINITY;
    const std::vector<Step>& st = steps_[p.nodes[k]];
    // The walk of EarliestOn from 0 arrives at step m or later: the first of the steps chained
    // to the room's step by gaps within a window (at <= the previous at + kEps); a start
    // before m would read a full step before it.
    size_t m = room_[p.nodes[k]][size_t(p.use[k])];
    while (m > 1 && st[m].at <= st[m - 1].at + kEps) --m;
    bound = std::max(bound, st[m].at);
  }
  // On several nodes, a node reached from a later start than 0 may start up to kEps before its
  // own jump (a window is read from t + kEps); the second kEps covers the subtraction's rounding.
  return bound - 2 * kEps;
}

double Packer::EarliestStart(const Placement& p, double seconds, double from) const {
  // Each node pushes t to its own earliest start from t, asked in turn, round and round, until
  // every node in a row finds t fits (one node: once).
  double t = from;
  const size_t n = p.nodes.size();
  for (size_t k = 0, agreed = 0; agreed < n; k = (k + 1) % n) {
    const double e = EarliestOn(p.nodes[k], t, seconds, p.use[k]);
    assert(std::isfinite(e) && "the last step is empty, so a start after it always fits");
    if (e > t) t = e, agreed = 1;
    else ++agreed;
  }
  return t;
}

void Packer::Place(const Placement& p, double start, double seconds) {
  for (size_t k = 0; k < p.nodes.size(); ++k) Block(p.nodes[k], start, start + seconds, p.use[k]);
}

Schedule SerialSchedule(const Instance& inst, const std::vector<Choice>& order) {
  Schedule s;
  s.jobs.resize(inst.jobs.size());
  Packer packer(inst);
  for (const Choice& c : order) {
    const Config& cfg = inst.jobs[c.job].configs[c.config];
    const Placement& p = cfg.placements[c.placement];
    double t = packer.EarliestStart(p, cfg.seconds, inst.jobs[c.job].release);
    packer.Place(p, t, cfg.seconds);
    s.jobs[c.job] = {c.config, c.placement, t, t + cfg.seconds, {}};
  }
  AssignDevices(inst, &s);
  return s;
}

// The rule: options (configuration, placement) in the order below, each taken when it finishes
// more than 1e-9 s sooner than the one taken before it. Computed without every option's finish:
// - an option whose bound (Packer::StartBound + seconds) is not 1e-9 below the finish taken so
//   far cannot be taken;
// - with F the earliest finish of all and F1 >= F the finish of the option with the least
//   bound, an option bounded past F1 + kBand is skipped. It finishes past F + kBand, and every
//   option finishing within a chain of gaps of at most kGap from F ends before F + kBand - kGap
//   (fewer than kBand / kGap - 1 options). The first of that chain in order beats whatever came
//   before it by more than 1e-9, and nothing past the chain beats it afterwards: skipping options
//   past the chain changes nothing.
Choice EarliestPlacement(const Instance& inst, const Packer& packer, int j, int config, double* finish) {
  constexpr double kBand = 1e-3, kGap = 3e-9;
  const PlanJob& job = inst.jobs[j];
  auto finish_of = [&](int ci, int p) {
    const Config& c = job.configs[size_t(ci)];
    return packer.EarliestStart(c.placements[size_t(p)], c.seconds, job.release) + c.seconds;
  };
  thread_local std::vector<double> bound;  // per option, in order (no allocation per call)
  bound.clear();
  size_t least = 0;
  Choice first{j, config, -1};
  job.ForAlike(config, [&](int ci) {
    const Config& c = job.configs[size_t(ci)];
    for (int p = 0; p < int(c.placements.size()); ++p) {
      bound.push_back(std::max(packer.StartBound(c.placements[size_t(p)]), job.release) + c.seconds);
      if (bound.size() == 1 || bound.back() < bound[least]) least = bound.size() - 1, first = {j, ci, p};
    }
  });
  double least_finish = NAN, band_end = INFINITY;
  if (first.placement >= 0 && double(bound.size()) + 1 < kBand / kGap) {
    least_finish = finish_of(first.config, first.placement);
    band_end = least_finish + kBand;
  }
  Choice best{j, config, -1};
  *finish = INFINITY;
  size_t i = 0;
  job.ForAlike(config, [&](int ci) {
    for (int p = 0; p < int(job.configs[size_t(ci)].placements.size()); ++p, ++i) {
      if (bound[i] >= *finish - 1e-9 || bound[i] > band_end) continue;
      const double f = i == least && !std::isnan(least_finish) ? least_finish : finish_of(ci, p);
      if (f < *finish - 1e-9) *finish = f, best.config = ci, best.placement = p;
    }
  });
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
    if (a.start < std::max(0.0, pj.release) - kEps)
      return fail(pj.name + (pj.release > 0 ? ": starts before its release" : ": starts before 0"));
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

namespace {

struct BoundEntry {
  double seconds, area;
  int job, kind;
};

// The least C >= `from` with A_w(C) <= D_w x C, where a device-second of kind k costs price[k]:
// A_w(C) sums over jobs the least priced device-seconds among their configurations no longer
// than C (plus the reservations'), and D_w is the priced count of devices in use. Every
// schedule of makespan C pays at most D_w x C, whatever the prices, so each price vector gives a
// valid bound. A_w(C) only falls as C grows, so walking the sorted durations upwards, each
// configuration entering once, finds it. A job with a configuration on a kind of price 0 costs
// nothing from there on: prices of 1 on a set S of kinds and 0 elsewhere count just the jobs
// that only S can take. `entries` are sorted by seconds.
// Per kind: devices in use, and device-seconds held by reservations.
struct KindTotals {
  std::vector<double> devices, held;
  explicit KindTotals(const Instance& inst) : devices(inst.kinds.size(), 0), held(inst.kinds.size(), 0) {
    for (const auto& n : inst.nodes) devices[size_t(n.kind)] += n.devices;
    for (const Reservation& r : inst.reserved) {
      const size_t k = size_t(inst.nodes[size_t(r.node)].kind);
      if (r.out_of_use) devices[k] -= double(r.device_ids.size());
      else held[k] += r.until * double(r.device_ids.size());
    }
  }
};

double PricedBound(const Instance& inst, const KindTotals& totals, const std::vector<BoundEntry>& entries,
                   const std::vector<double>& price, double from) {
  long double area = 0;
  double devices = 0;
  for (size_t k = 0; k < price.size(); ++k) devices += price[k] * totals.devices[k], area += price[k] * totals.held[k];
  if (devices <= 0) return from;
  // least[j]: job j's least priced area among configurations entered so far. Summed in long
  // double: each entry changes it once, and the bound must not drift with the number of jobs.
  std::vector<double> least(inst.jobs.size(), INFINITY);
  size_t next = 0;
  auto enter_through = [&](double point) {
    for (; next < entries.size() && entries[next].seconds <= point; ++next) {
      const BoundEntry& e = entries[next];
      const double a = price[size_t(e.kind)] * e.area;
      double& l = least[size_t(e.job)];
      if (a >= l) continue;
      area += std::isinf(l) ? (long double)a : (long double)a - l;
      l = a;
    }
  };
  double point = from;
  for (;;) {
    enter_through(point);
    const double c = std::max(point, double(area / devices));
    if (next == entries.size() || c < entries[next].seconds) return c;
    point = entries[next].seconds;
  }
}

// The best priced bound a deterministic search finds: every set of kinds alone (up to 8 kinds),
// then each kind's price scaled up and down while the bound rises, the steps shrinking. For
// two kinds this approaches the bound of the fractional assignment LP (its dual is exactly a
// price per kind); any price vector it stops at is valid.
double BestPricedBound(const Instance& inst, const std::vector<BoundEntry>& entries, double from) {
  const int kinds = int(inst.kinds.size());
  const KindTotals totals(inst);
  std::vector<double> price(static_cast<size_t>(kinds), 1.0);
  double best = PricedBound(inst, totals, entries, price, from);
  if (kinds == 1) return best;
  // Walks cost O(P): about 2e7 steps in all, at least 32 walks.
  long walks = std::max(32L, long(2e7 / std::max<size_t>(1, entries.size())));
  if (kinds <= 8)
    for (int mask = 1; mask + 1 < (1 << kinds) && walks > 0; ++mask, --walks) {
      std::vector<double> only(static_cast<size_t>(kinds));
      for (int k = 0; k < kinds; ++k) only[size_t(k)] = (mask >> k) & 1;
      best = std::max(best, PricedBound(inst, totals, entries, only, from));
    }
  for (double step = 4; step > 1.001 && walks > 0; step = std::sqrt(step)) {
    for (bool improved = true; improved && walks > 0;) {
      improved = false;
      for (int k = 0; k < kinds && walks > 0; ++k)
        for (double f : {step, 1 / step}) {
          std::vector<double> tried = price;
          tried[size_t(k)] *= f;
          const double b = PricedBound(inst, totals, entries, tried, from);
          --walks;
          if (b > best * (1 + 1e-12)) {
            best = b, price = tried, improved = true;
            break;
          }
        }
    }
  }
  return best;
}

}  // namespace

double LowerBound(const Instance& inst) {
  // A schedule of makespan C runs each job in a configuration no longer than C, so it spends at
  // least A(C) = sum over jobs of the least device-seconds among those configurations, and
  // A(C) <= devices x C. A(C) only falls as C grows and is constant between the configurations'
  // durations, so the least feasible C is found by walking those breakpoints upwards, each
  // configuration entering A once (O(P log P) for P configurations).
  // Reservations add their device-seconds to every A(C), and C is at least their last end.
  // With several node kinds a device-second of each kind gets a price (PricedBound): a kind that
  // alone can run the big models, or runs everything faster, is worth more than its share.
  double longest = 0;
  for (const Reservation& r : inst.reserved)
    if (!r.out_of_use) longest = std::max(longest, r.until);
  std::vector<BoundEntry> entries;
  for (int j = 0; j < int(inst.jobs.size()); ++j) {
    double fastest = INFINITY;
    for (const auto& c : inst.jobs[j].configs)
      fastest = std::min(fastest, c.seconds), entries.push_back({c.seconds, c.seconds * c.width(), j, c.kind});
    longest = std::max(longest, fastest);
  }
  std::sort(entries.begin(), entries.end(), [](const BoundEntry& a, const BoundEntry& b) { return a.seconds < b.seconds; });
  return BestPricedBound(inst, entries, longest);
}

}  // namespace saturn
