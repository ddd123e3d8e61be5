#include "plan/objective.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "util/suggest.h"

namespace saturn {

const std::vector<std::string>& ObjectiveNames() {
  static const std::vector<std::string> names = {"makespan", "mean-completion"};
  return names;
}

Status CheckObjective(const std::string& name) {
  const auto& names = ObjectiveNames();
  if (std::find(names.begin(), names.end(), name) != names.end()) return Status::Ok();
  return Status::UserError("--objective " + name + ": unknown objective" + DidYouMean(name, names) +
                           "; one of makespan (when the last job ends) or mean-completion (the priority-weighted "
                           "mean of the jobs' end times)");
}

bool NoWorse(const Score& a, const Score& b) {
  const double eps = 1e-6 * std::max(1.0, std::fabs(b.primary));
  if (a.late < b.late - eps) return true;
  if (a.late > b.late + eps) return false;
  if (a.primary < b.primary - eps) return true;
  if (a.primary > b.primary + eps) return false;
  return a.secondary <= b.secondary + eps * 1e-3;
}

bool Better(const Score& a, const Score& b) {
  const double eps = 1e-6 * std::max(1.0, std::fabs(b.primary));
  if (a.late < b.late - eps) return true;
  if (a.late > b.late + eps) return false;
  if (a.primary < b.primary - 1e-9) return true;
  return a.primary <= b.primary && a.secondary < b.secondary - 1e-9 * std::max(1.0, std::fabs(b.secondary));
}

bool Gains(const Score& a, const Score& b, double need) {
  const double eps = 1e-6 * std::max(1.0, std::fabs(b.primary));
  if (a.late < b.late - eps) return true;
  if (a.late > b.late + eps) return false;
  return a.primary <= b.primary - std::max(need, 1e-9);
}

Score ScoreOf(const Instance& inst, const std::vector<double>& ends, const std::vector<int>& config) {
  double late = 0, makespan = 0, weighted = 0, weight = 0, spread = 0;
  for (size_t j = 0; j < ends.size(); ++j) {
    const PlanJob& job = inst.jobs[j];
    late += std::max(0.0, ends[j] - job.deadline);
    makespan = std::max(makespan, ends[j]);
    weighted += job.weight * ends[j];
    weight += job.weight;
    // Ending work early on a plateau of one makespan: wide jobs free many devices, heavy ones
    // give their results.
    spread += job.weight * ends[j] * job.configs[size_t(config[j])].width();
  }
  if (inst.objective == "mean-completion") return {late, weight > 0 ? weighted / weight : 0, makespan};
  return {late, makespan, spread};
}

Score PlanScore(const Instance& inst, const Schedule& s) {
  std::vector<double> ends(s.jobs.size());
  std::vector<int> config(s.jobs.size());
  for (size_t j = 0; j < s.jobs.size(); ++j) ends[j] = s.jobs[j].end, config[j] = s.jobs[j].config;
  Score k = ScoreOf(inst, ends, config);
  if (inst.objective == "makespan") {
    bool priorities = false;
    double weighted = 0;
    for (size_t j = 0; j < s.jobs.size(); ++j)
      priorities = priorities || inst.jobs[j].weight != inst.jobs[0].weight, weighted += inst.jobs[j].weight * ends[j];
    k.secondary = priorities ? weighted : 0;
  }
  return k;
}

double MeanCompletion(const Instance& inst, const Schedule& s) {
  double weighted = 0, weight = 0;
  for (size_t j = 0; j < s.jobs.size(); ++j) weighted += inst.jobs[j].weight * s.jobs[j].end, weight += inst.jobs[j].weight;
  return weight > 0 ? weighted / weight : 0;
}

double ObjectiveValue(const Instance& inst, const Schedule& s) {
  return inst.objective == "mean-completion" ? MeanCompletion(inst, s) : s.makespan();
}

double MeanCompletionBound(const Instance& inst) {
  const size_t n = inst.jobs.size();
  if (n == 0) return 0;
  // Devices that can ever run a job: a device out of use is gone for good. Devices a running job
  // holds are counted as free, which only lowers the bound.
  double devices = inst.total_devices();
  for (const Reservation& r : inst.reserved)
    if (r.out_of_use) devices -= r.devices;
  if (devices <= 0) return 0;
  // A job in configuration c (a device-seconds, p seconds) ends at its mean busy time plus p/2.
  // The weighted mean busy times of any schedule are at least those of one machine working
  // through all device-seconds at `devices` per second in Smith's order: each job's own half
  // area plus the areas before it. Each job's own terms are taken at its best configuration;
  // the areas before it at their least, which only lowers the sum.
  std::vector<double> least_area(n, INFINITY);
  double weight = 0, alone = 0, own = 0;
  for (size_t j = 0; j < n; ++j) {
    const PlanJob& job = inst.jobs[j];
    double fastest = INFINITY, best_own = INFINITY;
    for (int c : job.front) {
      const Config& cfg = job.configs[size_t(c)];
      const double area = cfg.seconds * cfg.width();
      least_area[j] = std::min(least_area[j], area);
      fastest = std::min(fastest, cfg.seconds);
      best_own = std::min(best_own, area / (2 * devices) + cfg.seconds / 2);
    }
    weight += job.weight;
    alone += job.weight * fastest;
    own += job.weight * best_own;
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return least_area[a] * inst.jobs[b].weight < least_area[b] * inst.jobs[a].weight;
  });
  double before = 0, queued = 0;
  for (size_t j : order) {
    queued += inst.jobs[j].weight * before / devices;
    before += least_area[j];
  }
  return std::max(alone, queued + own) / weight;
}

bool HasDeadlines(const Instance& inst) {
  for (const PlanJob& j : inst.jobs)
    if (std::isfinite(j.deadline)) return true;
  return false;
}

std::vector<std::string> MissedDeadlines(const Instance& inst, const Schedule& s, double offset_seconds) {
  std::vector<std::string> out;
  for (size_t j = 0; j < s.jobs.size(); ++j) {
    const double late = s.jobs[j].end - inst.jobs[j].deadline;
    if (!(late > 1e-6 * std::max(1.0, s.jobs[j].end))) continue;
    char text[160];
    std::snprintf(text, sizeof text, " ends at %.2f h, %.2f h past its deadline of %.2f h",
                  (s.jobs[j].end + offset_seconds) / 3600, late / 3600, (inst.jobs[j].deadline + offset_seconds) / 3600);
    out.push_back(inst.jobs[j].name + text);
  }
  return out;
}

}  // namespace saturn
