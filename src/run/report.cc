#include "run/report.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "util/files.h"

namespace saturn {
namespace {

using nlohmann::json;

// What the job's metrics.jsonl says last: its step, loss and training seconds (nulls if none).
struct Progress {
  json step = nullptr, loss = nullptr, seconds = nullptr;
};

Progress LastMetrics(const std::string& metrics_path) {
  Progress p;
  Result<std::string> text = ReadFile(metrics_path);
  if (!text.ok()) return p;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    json m = json::parse(line, nullptr, false);
    if (!m.is_object() || !m.contains("loss") || !m["loss"].is_number()) continue;
    p.loss = m["loss"];
    p.step = m.value("step", json());
    p.seconds = m.value("seconds", json());
  }
  return p;
}

}  // namespace

json RunReport(const Sweep& sweep, const Plan& plan, const std::string& plan_path, const std::vector<json>& events) {
  double origin = -1;
  for (const json& e : events)
    if (e.value("event", "") == "run" && e.contains("time")) {
      origin = e["time"].get<double>();
      break;
    }
  auto at = [&](const json& e) { return e.contains("time") && origin >= 0 ? e["time"].get<double>() - origin : 0.0; };
  json jobs = json::array();
  double makespan = 0, busy = 0;
  int finished = 0;
  std::set<std::pair<std::string, int>> devices;
  for (size_t i = 0; i < plan.schedule.jobs.size(); ++i) {
    const Assignment& a = plan.schedule.jobs[i];
    const PlanJob& pj = plan.instance.jobs[i];
    const Config& c = pj.configs[a.config];
    const Placement& pl = c.placements[a.placement];
    json j = {{"job", pj.name},
              {"technique", c.technique},
              {"devices", c.devices},
              {"node", plan.instance.nodes[pl.nodes[0]].name},
              {"device_ids", a.device_ids[0]},
              {"planned_start_seconds", a.start},
              {"planned_end_seconds", a.end}};
    int attempts = 0;
    std::string state = "waiting";
    json start = nullptr, end = nullptr;
    double open = -1, busy_seconds = 0;  // the current launch's start; time on devices so far
    auto close = [&](double t) {
      if (open >= 0) busy_seconds += t - open;
      open = -1;
    };
    for (const json& e : events) {
      const std::string ev = e.value("event", "");
      // A stop or a new run ends whatever was running, whether or not its end was journaled.
      if (ev == "signal" || ev == "run") close(at(e));
      if (e.value("job", "") != pj.name) continue;
      if (ev == "start") {
        ++attempts;
        if (start.is_null()) start = at(e);
        open = at(e);
        state = "running";
      } else if (ev == "finish") {
        close(at(e));
        end = at(e), state = "finished";
      } else if (ev == "stopped") {
        close(at(e));
        state = "interrupted";
      } else if (ev == "fail") {
        close(at(e));
        state = e.value("retry", false) ? "retrying" : "failed";
        end = state == "failed" ? json(at(e)) : json();
      }
    }
    // A job the journal saw start but never end: its orchestrator stopped (or died) meanwhile.
    if (state == "running" || state == "retrying") state = "interrupted";
    if (state != "finished" && state != "failed") end = nullptr;
    j["state"] = state;
    j["attempts"] = attempts;
    j["actual_start_seconds"] = start;
    j["actual_end_seconds"] = end;
    j["device_seconds"] = busy_seconds * c.devices;
    const Progress progress = LastMetrics(sweep.output_dir + "/" + pj.name + "/metrics.jsonl");
    j["steps"] = pj.steps;
    j["step"] = progress.step;  // the last step its metrics logged
    j["training_seconds"] = progress.seconds;
    j["loss"] = progress.loss;
    j["final_loss"] = state == "finished" ? progress.loss : json();
    if (state == "finished") {
      ++finished;
      makespan = std::max(makespan, end.get<double>());
    }
    busy += busy_seconds * c.devices;
    for (int d : a.device_ids[0]) devices.insert({plan.instance.nodes[pl.nodes[0]].name, d});
    jobs.push_back(j);
  }
  json r = {{"sweep", sweep.name},
            {"plan", plan_path},
            {"policy", plan.policy},
            {"jobs_finished", finished},
            {"jobs", int(plan.schedule.jobs.size())},
            {"planned_makespan_seconds", plan.makespan()},
            {"actual_makespan_seconds", finished == int(plan.schedule.jobs.size()) ? json(makespan) : json()},
            {"runs", std::count_if(events.begin(), events.end(),
                                   [](const json& e) { return e.value("event", "") == "run"; })},
            {"job_results", jobs}};
  // Device-seconds the plan's devices sat idle between the first run and the last end (the
  // orchestrator's gaps, a resume's downtime and early or late jobs included): each launch
  // counts from its start to its journaled end, or to the stop or run that cut it short.
  if (finished == int(plan.schedule.jobs.size())) r["idle_device_seconds"] = std::max(0.0, devices.size() * makespan - busy);
  return r;
}

Status WriteRunReport(const Sweep& sweep, const Plan& plan, const std::string& plan_path,
                      const std::vector<json>& events, const std::string& path) {
  return WriteFileAtomic(path, RunReport(sweep, plan, plan_path, events).dump(1) + "\n");
}

}  // namespace saturn
