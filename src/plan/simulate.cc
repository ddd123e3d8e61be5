#include "plan/simulate.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>

#include "plan/policies.h"
#include "plan/replan.h"

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

double Uniform(std::mt19937_64& rng) { return (double(rng() >> 11) + 0.5) / 9007199254740992.0; }

// Each job's draw: its step-time factor, and when it crashes (a share of its run; none: -1).
struct Draw {
  double factor = 1;
  double crash = -1;
};

// The simulator re-plans at every job's end: a lighter search than the orchestrator's 4,000
// moves per waiting job, and deterministic.
constexpr long kMovesPerWaiting = 50;

// Moves for a re-plan of `left` waiting jobs with `unended` jobs yet to end (each end a re-plan)
// and `budget` job decodes left to the trial: 50 per waiting job, scaled down when what the
// re-plans still to come want would overrun the budget. They want about 50 x left^2 x
// unended / 3 (the waiting jobs fall to none over the ends to come), and each gets the same
// share of its want; never more than the budget left. Negative: no search (Replan then
// re-decodes the current order only).
long SearchMoves(long left, long unended, double budget) {
  const double want = double(kMovesPerWaiting) * double(left);
  const double rest = std::max(want * double(left) * double(unended) / 3, want * double(left));
  const double share = rest <= budget ? 1.0 : std::max(budget, 0.0) / rest;
  // Each move decodes `left` jobs: never more moves than the budget left pays for.
  const long moves = long(std::min(std::floor(want * share), std::floor(std::max(budget, 0.0) / double(left))));
  return moves > 0 ? moves : -1;
}

double AsPlanned(const Plan& p, const std::vector<Draw>& draw) {
  const Instance& inst = p.instance;
  std::vector<Choice> order = ChoicesByStart(p.schedule);
  std::vector<std::vector<double>> free_at(inst.nodes.size());
  for (size_t n = 0; n < inst.nodes.size(); ++n) free_at[n].assign(inst.nodes[n].devices, 0.0);
  double makespan = 0;
  for (const Reservation& r : inst.reserved) {
    for (int d : r.device_ids) free_at[r.node][d] = r.until;
    if (!r.out_of_use) makespan = std::max(makespan, r.until);
  }
  for (const Choice& c : order) {
    const Assignment& a = p.schedule.jobs[c.job];
    const Config& cfg = inst.jobs[c.job].configs[a.config];
    const Placement& pl = cfg.placements[a.placement];
    double start = inst.jobs[c.job].release;
    for (size_t k = 0; k < pl.nodes.size(); ++k)
      for (int d : a.device_ids[k]) start = std::max(start, free_at[pl.nodes[k]][d]);
    const Draw& dr = draw[c.job];
    double end = start + cfg.seconds * dr.factor * (dr.crash >= 0 ? 1 + dr.crash : 1);
    for (size_t k = 0; k < pl.nodes.size(); ++k)
      for (int d : a.device_ids[k]) free_at[pl.nodes[k]][d] = end;
    makespan = std::max(makespan, end);
  }
  return makespan;
}

// The orchestrator's execution with re-planning (run/orchestrator.h), as discrete events: a
// waiting job starts once it heads the queue of each of its devices (running job first, then the
// waiting jobs in order); at every job's end the rest is re-planned by Replan, from the running
// jobs' true remaining times (the orchestrator measures their rates), and adopted when it saves
// kReplanThreshold of the predicted time left, as `saturn run --plan` does by default.
// `budget` bounds the job decodes of the trial's searches (SimOptions::search_budget); the
// trial's re-plans, the decodes they wanted and those they searched go to `trial`.
double WithReplanning(const Plan& p, const std::vector<Draw>& draw, double budget, SimTrial* trial) {
  constexpr double kReplanThreshold = 0.05;
  const Instance& inst = p.instance;
  const int J = int(inst.jobs.size());
  enum class S { kWaiting, kRunning, kDone };
  struct Job {
    int config, placement;
    std::vector<std::vector<int>> ids;
    double order, start = 0, end = 0;  // `end` as predicted until a crash
    double crash = INFINITY;            // when it crashes, then runs again from its start
    S s = S::kWaiting;
  };
  std::vector<Job> jobs(J);
  for (int j = 0; j < J; ++j) {
    const Assignment& a = p.schedule.jobs[j];
    jobs[j] = {a.config, a.placement, a.device_ids, a.start};
  }
  std::vector<std::vector<double>> busy_until(inst.nodes.size());  // reservations of the plan itself
  for (size_t n = 0; n < inst.nodes.size(); ++n) busy_until[n].assign(inst.nodes[n].devices, 0.0);
  for (const Reservation& r : inst.reserved)
    for (int d : r.device_ids) busy_until[r.node][d] = r.until;
  auto nodes_of = [&](const Job& jb) -> const std::vector<int>& {
    return inst.jobs[&jb - jobs.data()].configs[jb.config].placements[jb.placement].nodes;
  };
  double now = 0, makespan = 0;
  for (const Reservation& r : inst.reserved)
    if (!r.out_of_use) makespan = std::max(makespan, r.until);
  int done = 0;
  while (done < J) {
    // Start every waiting job that heads the queues of all its devices.
    std::map<std::pair<int, int>, int> head;  // device -> the job first in its queue
    for (int j = 0; j < J; ++j)
      if (jobs[j].s == S::kRunning)
        for (size_t k = 0; k < nodes_of(jobs[j]).size(); ++k)
          for (int d : jobs[j].ids[k]) head[{nodes_of(jobs[j])[k], d}] = j;
    std::vector<int> waiting;
    for (int j = 0; j < J; ++j)
      if (jobs[j].s == S::kWaiting) waiting.push_back(j);
    std::stable_sort(waiting.begin(), waiting.end(), [&](int a, int b) { return jobs[a].order < jobs[b].order; });
    for (int j : waiting)
      for (size_t k = 0; k < nodes_of(jobs[j]).size(); ++k)
        for (int d : jobs[j].ids[k]) head.emplace(std::make_pair(nodes_of(jobs[j])[k], d), j);
    for (int j : waiting) {
      bool ready = inst.jobs[j].release <= now + kEps;
      for (size_t k = 0; k < nodes_of(jobs[j]).size() && ready; ++k)
        for (int d : jobs[j].ids[k])
          ready = ready && head[{nodes_of(jobs[j])[k], d}] == j && busy_until[nodes_of(jobs[j])[k]][d] <= now + kEps;
      if (!ready) continue;
      Job& jb = jobs[j];
      jb.s = S::kRunning;
      jb.start = now;
      const double d = inst.jobs[j].configs[jb.config].seconds * draw[j].factor;
      jb.end = now + d;
      if (draw[j].crash >= 0) jb.crash = now + draw[j].crash * d;
    }
    // Advance to the next end, or to a reservation's end if only that holds a job back.
    double next = INFINITY;
    for (const Job& jb : jobs)
      if (jb.s == S::kRunning) next = std::min({next, jb.end, jb.crash});
    for (const auto& node : busy_until)
      for (double t : node)
        if (t > now + kEps) next = std::min(next, t);
    for (int j = 0; j < J; ++j)
      if (jobs[j].s == S::kWaiting && inst.jobs[j].release > now + kEps) next = std::min(next, inst.jobs[j].release);
    assert(std::isfinite(next));
    now = next;
    for (Job& jb : jobs)
      if (jb.s == S::kRunning && jb.crash <= now + kEps) jb.end = jb.crash + (jb.end - jb.start), jb.crash = INFINITY;
    for (Job& jb : jobs)
      if (jb.s == S::kRunning && jb.end <= now + kEps) jb.s = S::kDone, ++done, makespan = std::max(makespan, jb.end);
    if (done == J) break;
    // Re-plan what waits.
    const long left = std::count_if(jobs.begin(), jobs.end(), [](const Job& jb) { return jb.s == S::kWaiting; });
    if (left == 0) continue;
    SweepState st;
    st.now = now;
    for (int j = 0; j < J; ++j) {
      Assignment a{jobs[j].config, jobs[j].placement, 0, 0, jobs[j].ids};
      JobState js = StateOf(inst, j, a);
      js.state = jobs[j].s == S::kDone ? "finished" : jobs[j].s == S::kRunning ? "running" : "waiting";
      js.remaining_seconds = jobs[j].s == S::kRunning ? jobs[j].end - now : 0;
      js.order = jobs[j].order;
      st.jobs.push_back(std::move(js));
    }
    ReplanOptions ro;
    ro.max_moves = SearchMoves(left, J - done, budget - trial->searched);
    ro.time_limit_seconds = 1e9;
    trial->replans += 1;
    trial->wanted += double(kMovesPerWaiting) * double(left) * double(left);
    trial->searched += double(std::max(ro.max_moves, 0L)) * double(left);
    Result<Replanned> r = Replan(inst, st, ro);
    assert(r.ok());
    if (!r.ok() || !r->Worth(kReplanThreshold)) continue;
    const Plan& rp = r->plan;
    for (size_t i = 0; i < rp.instance.jobs.size(); ++i) {
      int j = 0;
      while (inst.jobs[j].name != rp.instance.jobs[i].name) ++j;
      const Assignment& a = rp.schedule.jobs[i];
      const Config& c = rp.instance.jobs[i].configs[a.config];
      for (int k = 0; k < int(inst.jobs[j].configs.size()); ++k)
        if (inst.jobs[j].configs[k].technique == c.technique && inst.jobs[j].configs[k].devices == c.devices &&
            inst.jobs[j].configs[k].kind == c.kind)
          jobs[j].config = k;
      jobs[j].placement = a.placement;
      jobs[j].ids = a.device_ids;
      jobs[j].order = now + a.start;
    }
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

double SimReport::searched_share() const {
  double wanted = 0, searched = 0;
  for (const auto& t : trials) wanted += t.wanted, searched += t.searched;
  return wanted > 0 ? searched / wanted : 1;
}

SimReport Simulate(const Plan& plan, const SimOptions& opt) {
  SimReport r;
  r.planned = plan.makespan();
  std::mt19937_64 rng(opt.seed);
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < opt.trials; ++t) {
    std::vector<Draw> draw(plan.instance.jobs.size());
    for (Draw& d : draw) d.factor = std::exp(opt.noise * Normal(rng) - opt.noise * opt.noise / 2);
    // Drawn after the factors, so that without failures the factors are those of before.
    if (opt.failures > 0)
      for (Draw& d : draw)
        if (Uniform(rng) < opt.failures) d.crash = Uniform(rng);
    SimTrial trial;
    trial.as_planned = AsPlanned(plan, draw);
    trial.replanned = WithReplanning(plan, draw, opt.search_budget, &trial);
    r.trials.push_back(trial);
    if (opt.on_trial) opt.on_trial(t + 1, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return r;
}

std::string SimReportText(const Plan& plan, const SimOptions& opt, const SimReport& r) {
  char buf[512];
  std::string out;
  std::snprintf(buf, sizeof buf,
                "simulated %d trials of plan '%s' (policy %s), step-time noise sigma %.3f, crash chance %.3f per job, "
                "seed %llu\n",
                opt.trials, plan.sweep.c_str(), plan.policy.c_str(), opt.noise, opt.failures, (unsigned long long)opt.seed);
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
  // What the re-planned row stands for: a thinner search than the orchestrator's at scale.
  double replans = 0;
  for (const SimTrial& t : r.trials) replans += t.replans;
  std::snprintf(buf, sizeof buf,
                "re-plans: %.0f a trial; their searches got %.3g%% of %ld moves per waiting job (--search-budget %.3g "
                "job decodes a trial)\n",
                r.trials.empty() ? 0 : replans / double(r.trials.size()), 100 * r.searched_share(), kMovesPerWaiting,
                opt.search_budget);
  out += buf;
  return out;
}

}  // namespace saturn
