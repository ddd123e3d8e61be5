#include "plan/simulate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "plan/policies.h"

namespace saturn {
namespace {

constexpr double kEps = 1e-6;

// Box-Muller over mt19937_64: the same draws on every standard library.
double Normal(std::mt19937_64& rng) {
  const double two_pi = 6.283185307179586;
  double u1 = (double(rng() >> 11) + 0.5) / 9007199254740992.0;
  double u2 = (double(rng() >> 11) + 0.5) / 9007199254740992.0;
  return std::sqrt(-2 * std::log(u1)) * std::cos(two_pi * u2);
}

double AsPlanned(const Plan& p, const std::vector<double>& factor) {
  const Instance& inst = p.instance;
  std::vector<Choice> order = ChoicesByStart(p.schedule);
  std::vector<std::vector<double>> free_at(inst.nodes.size());
  for (size_t n = 0; n < inst.nodes.size(); ++n) free_at[n].assign(inst.nodes[n].devices, 0.0);
  double makespan = 0;
  for (const Choice& c : order) {
    const Assignment& a = p.schedule.jobs[c.job];
    const Config& cfg = inst.jobs[c.job].configs[a.config];
    const Placement& pl = cfg.placements[a.placement];
    double start = 0;
    for (size_t k = 0; k < pl.nodes.size(); ++k)
      for (int d : a.device_ids[k]) start = std::max(start, free_at[pl.nodes[k]][d]);
    double end = start + cfg.seconds * factor[c.job];
    for (size_t k = 0; k < pl.nodes.size(); ++k)
      for (int d : a.device_ids[k]) free_at[pl.nodes[k]][d] = end;
    makespan = std::max(makespan, end);
  }
  return makespan;
}

double Replanned(const Plan& p, const std::vector<double>& factor) {
  const Instance& inst = p.instance;
  const size_t J = inst.jobs.size();
  std::vector<Choice> planned = ChoicesByStart(p.schedule);
  struct Running { int job; Choice choice; double start, end; };
  std::vector<Running> running;
  std::vector<char> started(J, 0);
  double now = 0, makespan = 0;
  size_t done = 0;
  while (done < J) {
    // Predict the rest two ways from `now`, knowing the running jobs' true ends: (a) the plan's
    // own choices in its order, (b) each job's earliest-finishing front configuration. Keep the
    // one predicted to finish first, and start what it starts now.
    std::vector<Choice> best_starts;
    double best_end = INFINITY;
    for (int way = 0; way < 2; ++way) {
      Packer packer(inst);
      for (const auto& r : running) {
        const Placement& pl = inst.jobs[r.job].configs[r.choice.config].placements[r.choice.placement];
        packer.Place(pl, r.start, r.end - r.start);
      }
      std::vector<Choice> starts_now;
      double end = now;
      for (const auto& r : running) end = std::max(end, r.end);
      for (const Choice& c : planned) {
        if (started[c.job]) continue;
        Choice pick = c;
        double t = 0, f = INFINITY;
        const PlanJob& job = inst.jobs[c.job];
        std::vector<int> configs = way == 0 ? std::vector<int>{c.config} : job.front;
        for (int ci : configs) {
          const Config& cfg = job.configs[ci];
          for (int pi = 0; pi < int(cfg.placements.size()); ++pi) {
            if (way == 0 && pi != c.placement) continue;
            double s = packer.EarliestStart(cfg.placements[pi], cfg.seconds, now);
            if (s + cfg.seconds < f - kEps) f = s + cfg.seconds, t = s, pick = {c.job, ci, pi};
          }
        }
        const Config& cfg = job.configs[pick.config];
        packer.Place(cfg.placements[pick.placement], t, cfg.seconds);
        end = std::max(end, f);
        if (t <= now + kEps) starts_now.push_back(pick);
      }
      if (end < best_end - kEps) best_end = end, best_starts = starts_now;
    }
    for (const Choice& c : best_starts) {
      started[c.job] = 1;
      running.push_back({c.job, c, now, now + inst.jobs[c.job].configs[c.config].seconds * factor[c.job]});
    }
    assert(!running.empty());
    auto first = std::min_element(running.begin(), running.end(),
                                  [](const Running& a, const Running& b) { return a.end < b.end; });
    now = first->end;
    makespan = std::max(makespan, now);
    running.erase(first);
    ++done;
  }
  return makespan;
}

}  // namespace

double SimReport::mean_as_planned() const {
  double s = 0;
  for (const auto& t : trials) s += t.as_planned;
  return trials.empty() ? 0 : s / trials.size();
}

double SimReport::mean_replanned() const {
  double s = 0;
  for (const auto& t : trials) s += t.replanned;
  return trials.empty() ? 0 : s / trials.size();
}

SimReport Simulate(const Plan& plan, const SimOptions& opt) {
  SimReport r;
  r.planned = plan.makespan();
  std::mt19937_64 rng(opt.seed);
  for (int t = 0; t < opt.trials; ++t) {
    std::vector<double> factor(plan.instance.jobs.size());
    for (double& f : factor) f = std::exp(opt.noise * Normal(rng) - opt.noise * opt.noise / 2);
    r.trials.push_back({AsPlanned(plan, factor), Replanned(plan, factor)});
  }
  return r;
}

std::string SimReportText(const Plan& plan, const SimOptions& opt, const SimReport& r) {
  char buf[512];
  std::string out;
  std::snprintf(buf, sizeof buf, "simulated %d trials of plan '%s' (policy %s), step-time noise sigma %.3f, seed %llu\n",
                opt.trials, plan.sweep.c_str(), plan.policy.c_str(), opt.noise, (unsigned long long)opt.seed);
  out += buf;
  std::snprintf(buf, sizeof buf, "%-12s %14s %10s\n", "execution", "makespan (s)", "x planned");
  out += buf;
  auto row = [&](const char* name, double v) {
    std::snprintf(buf, sizeof buf, "%-12s %14.1f %10.3f\n", name, v, r.planned > 0 ? v / r.planned : 0);
    out += buf;
  };
  row("planned", r.planned);
  row("as-planned", r.mean_as_planned());
  row("re-planned", r.mean_replanned());
  return out;
}

}  // namespace saturn
