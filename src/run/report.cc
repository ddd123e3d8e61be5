#include "run/report.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "launch/launcher.h"
#include "run/metrics.h"
#include "run/report_views.h"
#include "util/files.h"

namespace saturn {

using nlohmann::json;

namespace {

bool DeviceIds(const json& ids) {
  return ids.is_array() && std::all_of(ids.begin(), ids.end(), [](const json& d) { return d.is_number_integer(); });
}

// A start event that says how the job was launched (journals before re-planning may not).
bool LaunchedWith(const json& e) {
  return e.value("technique", json()).is_string() && e.value("node", json()).is_string() &&
         e.value("devices", json()).is_number_integer() && DeviceIds(e.value("device_ids", json()));
}

bool ValidPlacement(const json& p) {
  bool valid = p.is_array() && !p.empty();
  for (const json& part : p)
    valid = valid && part.is_object() && part.value("node", json()).is_string() && DeviceIds(part.value("device_ids", json()));
  return valid;
}

// Where a start event launched the job: its placement, or (journals before jobs spanned nodes)
// its one node and device ids.
json LaunchPlacement(const json& e) {
  const json p = e.value("placement", json());
  return ValidPlacement(p) ? p : json::array({{{"node", e["node"]}, {"device_ids", e["device_ids"]}}});
}

json PlanPlacement(const Plan& plan, const Placement& pl, const Assignment& a) {
  json out = json::array();
  for (size_t k = 0; k < pl.nodes.size(); ++k)
    out.push_back({{"node", plan.instance.nodes[pl.nodes[k]].name}, {"device_ids", a.device_ids[k]}});
  return out;
}

// A re-plan the journal adopted moves the jobs it covers (those waiting then, or running ones
// once they stopped to move): `j` takes the
// re-plan's technique, devices and placement for `job` until a launch says otherwise.
void MoveBy(const Plan& replan, const std::string& job, json* j) {
  for (size_t i = 0; i < replan.instance.jobs.size(); ++i) {
    if (replan.instance.jobs[i].name != job) continue;
    const Assignment& a = replan.schedule.jobs[i];
    const Config& c = replan.instance.jobs[i].configs[a.config];
    const json placement = PlanPlacement(replan, c.placements[a.placement], a);
    (*j)["technique"] = c.technique;
    (*j)["devices"] = c.devices;
    (*j)["placement"] = placement;
    (*j)["node"] = placement[0]["node"];
    (*j)["device_ids"] = placement[0]["device_ids"];
  }
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
  std::set<std::string> nodes;  // every node a job was planned or launched on
  std::map<std::string, Plan> adopted;  // the re-plans the journal adopted, by path
  for (const json& e : events)
    if (e.value("event", "") == "plan" && e.value("path", json()).is_string())
      if (Result<Plan> p = LoadPlan(e["path"].get<std::string>()); p.ok()) adopted.emplace(e["path"], std::move(*p));
  for (size_t i = 0; i < plan.schedule.jobs.size(); ++i) {
    const Assignment& a = plan.schedule.jobs[i];
    const PlanJob& pj = plan.instance.jobs[i];
    const Config& c = pj.configs[a.config];
    const Placement& pl = c.placements[a.placement];
    // Technique and devices as planned, until a launch says otherwise (a re-plan moved the job).
    // node and device_ids: the placement's first node (all of it for a job on one node).
    const json placement = PlanPlacement(plan, pl, a);
    for (const json& part : placement) nodes.insert(part["node"].get<std::string>());
    json j = {{"job", pj.name},
              {"checkpoint_step", nullptr},
              {"technique", c.technique},
              {"devices", c.devices},
              {"node", placement[0]["node"]},
              {"device_ids", placement[0]["device_ids"]},
              {"placement", placement},
              {"planned_technique", c.technique},
              {"planned_devices", c.devices},
              {"planned_node", placement[0]["node"]},
              {"planned_device_ids", placement[0]["device_ids"]},
              {"planned_placement", placement},
              {"planned_start_seconds", a.start},
              {"planned_end_seconds", a.end}};
    int attempts = 0;
    std::string state = "waiting";
    json start = nullptr, end = nullptr;
    double open = -1, device_seconds = 0;  // the current launch's start; device-seconds so far
    int open_devices = c.devices;
    json launches = json::array();  // each launch: when, where, how it ended
    const Plan* moving = nullptr;   // a re-plan adopted while it ran
    auto close = [&](double t, const char* how) {
      if (open >= 0) {
        device_seconds += (t - open) * open_devices;
        launches.back()["end_seconds"] = t;
        launches.back()["ended"] = how;
      }
      open = -1;
    };
    for (const json& e : events) {
      const std::string ev = e.value("event", "");
      // A stop or a new run ends whatever was running, whether or not its end was journaled.
      if (ev == "signal" || ev == "run") close(at(e), ev == "signal" ? "stopped" : "cut short");
      // A re-plan that moves the job while it runs takes effect once it has stopped for that.
      if (ev == "plan" && e.value("path", json()).is_string() && adopted.count(e["path"])) {
        if (state == "running") moving = &adopted.at(e["path"]);
        else MoveBy(adopted.at(e["path"]), pj.name, &j);
      }
      if (e.value("job", "") != pj.name) continue;
      if (ev == "start") {
        ++attempts;
        if (start.is_null()) start = at(e);
        open = at(e);
        state = "running";
        if (LaunchedWith(e)) {
          for (const char* key : {"technique", "devices", "node", "device_ids"}) j[key] = e[key];
          j["placement"] = LaunchPlacement(e);
          open_devices = e["devices"].get<int>();
        }
        for (const json& part : j["placement"]) nodes.insert(part["node"].get<std::string>());
        launches.push_back({{"start_seconds", at(e)}, {"end_seconds", nullptr}, {"ended", nullptr},
                            {"technique", j["technique"]}, {"devices", j["devices"]}, {"node", j["node"]},
                            {"device_ids", j["device_ids"]}, {"placement", j["placement"]}});
      } else if (ev == "checkpoint") {
        if (e.value("step", json()).is_number_integer()) j["checkpoint_step"] = e["step"];
      } else if (ev == "finish") {
        close(at(e), "finished");
        end = at(e), state = "finished";
      } else if (ev == "stopped") {
        // Stopped to move (an adopted re-plan moved it): it waits to go on where it was moved.
        // Stopped by a signal while a move was under way: the orchestrator has placed it where
        // it was moved too, and --resume launches it there (Orchestrator::Ended).
        const bool moved = e.value("moved", json()) == json(true);
        close(at(e), moved ? "moved" : "stopped");
        if (moving) MoveBy(*moving, pj.name, &j);
        moving = nullptr;
        state = moved ? "waiting" : "interrupted";
      } else if (ev == "fail") {
        close(at(e), "failed");
        state = e.value("retry", false) ? "retrying" : "failed";
        // A retry goes where a move under way was taking it; a job given up on stays put.
        if (state == "retrying" && moving) MoveBy(*moving, pj.name, &j);
        moving = nullptr;
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
    j["device_seconds"] = device_seconds;
    j["launches"] = launches;
    const LastMetrics progress = ReadLastMetrics(sweep.output_dir + "/" + pj.name + "/metrics.jsonl");
    j["steps"] = pj.steps;
    j["step"] = progress.step;  // the last step its metrics logged
    j["training_seconds"] = progress.seconds;
    const double per_step = SecondsPerStep(progress);
    j["seconds_per_step"] = per_step > 0 ? json(per_step) : json();  // past the first step's warm-up
    j["loss"] = progress.loss;
    j["final_loss"] = state == "finished" ? progress.loss : json();
    j["eval"] = progress.eval;  // the latest scores; eval_final: of the final weights
    j["eval_step"] = progress.eval_step;
    j["eval_final"] = progress.eval_final;
    if (state == "finished") {
      ++finished;
      makespan = std::max(makespan, end.get<double>());
    }
    busy += device_seconds;
    jobs.push_back(j);
  }
  json r = {{"sweep", sweep.name},
            {"plan", plan_path},
            {"policy", plan.policy},
            {"jobs_finished", finished},
            {"jobs", int(plan.schedule.jobs.size())},
            {"planned_makespan_seconds", plan.makespan()},
            {"actual_makespan_seconds", finished == int(plan.schedule.jobs.size()) ? json(makespan) : json()},
            // When the first run began (seconds since the epoch): what a sweep still under way
            // measures its time so far from.
            {"started_epoch_seconds", origin >= 0 ? json(origin) : json()},
            {"runs", std::count_if(events.begin(), events.end(),
                                   [](const json& e) { return e.value("event", "") == "run"; })},
            {"job_results", jobs}};
  json plans = json::array();
  for (const json& e : events)
    if (e.value("event", "") == "plan")
      plans.push_back({{"number", e.value("number", 0)},
                       {"path", e.value("path", "")},
                       {"at_seconds", at(e)},
                       {"kept_seconds", e.value("kept_seconds", json())},  // null: kept, jobs waited for good
                       {"new_seconds", e.value("new_seconds", json())},
                       {"changed", e.value("changed", json::array())},
                       {"moved", e.value("moved", json::array())}});
  r["plans_adopted"] = plans;
  json excluded = json::array();  // devices taken out of use, and the jobs whose launches failed there
  for (const json& e : events)
    if (e.value("event", "") == "exclude" && ValidPlacement(e.value("placement", json()))) {
      json jobs = json::array();
      for (const json& n : e.value("jobs", json::array()))
        if (n.is_string()) jobs.push_back(n);
      excluded.push_back(
          {{"placement", e["placement"]}, {"where", FormatPlacement(e["placement"])}, {"at_seconds", at(e)}, {"jobs", jobs}});
    }
  r["excluded_devices"] = excluded;
  // Device-seconds the devices of the nodes the sweep ran on sat idle between the first run and the last end (the
  // orchestrator's gaps, a resume's downtime and early or late jobs included): each launch
  // counts from its start to its journaled end, or to the stop or run that cut it short.
  double devices = 0;
  for (const PlanNode& n : plan.instance.nodes) devices += nodes.count(n.name) ? n.devices : 0;
  if (finished == int(plan.schedule.jobs.size())) r["idle_device_seconds"] = std::max(0.0, devices * makespan - busy);
  return r;
}

std::string FormatPlacement(const json& placement) {
  std::string w;
  for (const json& part : placement)
    w += (w.empty() ? "" : "+") + part["node"].get<std::string>() + ":" +
         FormatSlots(part["device_ids"].get<std::vector<int>>());
  return w;
}

Status WriteRunReport(const Sweep& sweep, const Plan& plan, const std::string& plan_path,
                      const std::vector<json>& events, const std::string& path) {
  const json r = RunReport(sweep, plan, plan_path, events);
  const std::string dir = std::filesystem::path(path).parent_path().string();
  SATURN_RETURN_IF_ERROR(WriteFileAtomic(dir + "/executed.svg", ExecutedSvg(plan, r)));
  SATURN_RETURN_IF_ERROR(WriteFileAtomic(dir + "/loss.svg", LossSvg(plan, r, sweep.output_dir)));
  SATURN_RETURN_IF_ERROR(WriteFileAtomic(dir + "/report.md", ReportMarkdown(r)));
  return WriteFileAtomic(path, r.dump(1) + "\n");
}

}  // namespace saturn
