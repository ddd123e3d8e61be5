// Plan JSON: the keys in docs/planner.md. Reading a plan back re-checks it against its own
// embedded instance, so a hand-edited plan that double-books a device is refused.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "plan/json_values.h"
#include "plan/objective.h"
#include "plan/plan.h"
#include "technique/names.h"
#include "util/files.h"
#include "util/json_error.h"

namespace saturn {

using json = nlohmann::json;

std::string PlanToJson(const Plan& p) {
  json doc;
  doc["version"] = 1;
  doc["policy"] = p.policy;
  doc["sweep"] = p.sweep;
  doc["makespan_seconds"] = p.makespan();
  doc["lower_bound_seconds"] = p.lower_bound;
  doc["objective"] = p.instance.objective;
  doc["solver"] = {{"status", p.solver.status},     {"method", p.solver.method},
                   {"objective", p.solver.objective}, {"best_bound", p.solver.best_bound},
                   {"gap", p.solver.gap},           {"seconds", p.solver.seconds},
                   {"grid_seconds", p.solver.grid_seconds}, {"subproblems", p.solver.subproblems}};
  doc["jobs"] = json::array();
  for (size_t j = 0; j < p.instance.jobs.size(); ++j) {
    const Assignment& a = p.schedule.jobs[j];
    const Config& c = p.instance.jobs[j].configs[a.config];
    const Placement& pl = c.placements[a.placement];
    json placement = json::array();
    for (size_t k = 0; k < pl.nodes.size(); ++k)
      placement.push_back({{"node", p.instance.nodes[pl.nodes[k]].name}, {"devices", a.device_ids[k]}});
    json e = {{"job", p.instance.jobs[j].name}, {"technique", c.technique}, {"devices", c.devices},
              {"placement", placement}, {"start_seconds", a.start}, {"end_seconds", a.end},
              {"knobs", json::parse(c.knobs_json)}};
    // Node kinds appear only where the sweep names them: one-kind plans read as before.
    const std::string& kind = p.instance.kinds[size_t(c.kind)];
    if (!kind.empty()) e["kind"] = kind;
    if (c.estimated) e["estimated"] = true;
    doc["jobs"].push_back(std::move(e));
  }
  doc["estimated_jobs"] = p.estimated_jobs();
  json nodes = json::array(), jobs = json::array();
  for (const auto& n : p.instance.nodes) {
    json e = {{"name", n.name}, {"devices", n.devices}};
    if (!p.instance.kinds[size_t(n.kind)].empty()) e["kind"] = p.instance.kinds[size_t(n.kind)];
    nodes.push_back(std::move(e));
  }
  // Jobs of one cost key have the same configurations, their durations step_seconds x steps:
  // such a job names a shared set instead of repeating it (10,000 jobs of 10 cost keys: a few
  // sets, not 200,000 configurations). A re-plan's scaled durations are written out in full.
  json sets = json::array();
  std::map<std::string, int> set_of;
  for (const auto& j : p.instance.jobs) {
    bool shared = true;
    json cs = json::array();
    for (const auto& c : j.configs) {
      shared = shared && c.seconds == c.step_seconds * double(j.steps);
      json e = {{"technique", c.technique}, {"devices", c.devices}, {"step_seconds", c.step_seconds},
                {"peak_memory_bytes", c.peak_memory_bytes}, {"knobs", json::parse(c.knobs_json)}};
      if (!p.instance.kinds[size_t(c.kind)].empty()) e["kind"] = p.instance.kinds[size_t(c.kind)];
      if (c.estimated) e["estimated"] = true;
      cs.push_back(std::move(e));
    }
    json e = {{"job", j.name}, {"steps", j.steps}};
    if (shared) {
      auto [it, fresh] = set_of.emplace(cs.dump(), int(sets.size()));
      if (fresh) sets.push_back(std::move(cs));
      e["config_set"] = it->second;
    } else {
      for (size_t k = 0; k < j.configs.size(); ++k) cs[k]["seconds"] = j.configs[k].seconds;
      e["configs"] = std::move(cs);
    }
    if (j.weight != 1) e["priority"] = j.weight;
    // From the sweep's start, as written in the sweep (a re-plan's own time 0 is offset_seconds).
    if (std::isfinite(j.deadline)) e["deadline_seconds"] = j.deadline + p.offset_seconds;
    if (j.release > 0) e["release_seconds"] = j.release;  // from the re-plan's time 0
    jobs.push_back(std::move(e));
  }
  doc["instance"] = {{"nodes", nodes}, {"jobs", jobs}};
  if (!sets.empty()) doc["instance"]["config_sets"] = std::move(sets);
  if (!p.instance.reserved.empty() || p.offset_seconds > 0) {
    doc["offset_seconds"] = p.offset_seconds;
    json reserved = json::array();
    for (const Reservation& r : p.instance.reserved) {
      json e = {{"job", r.job}, {"technique", r.technique}, {"devices", r.devices},
                {"node", p.instance.nodes[r.node].name}, {"device_ids", r.device_ids}};
      if (r.out_of_use) e["out_of_use"] = true;
      else e["until_seconds"] = r.until;
      reserved.push_back(std::move(e));
    }
    doc["instance"]["reserved"] = reserved;
  }
  return doc.dump(1) + "\n";
}

namespace {

// Names unique and non-empty, techniques known, and every configuration fits the plan's nodes.
Status CheckPlanInstance(const Instance& in) {
  if (in.nodes.empty()) return Status::UserError("instance.nodes: empty");
  std::set<std::string> seen;
  for (const auto& n : in.nodes)
    if (n.name.empty() || !seen.insert(n.name).second) return Status::UserError("instance.nodes: node name '" + n.name + "' empty or repeated");
  seen.clear();
  const auto& known = TechniqueNames();
  for (const auto& j : in.jobs) {
    if (j.name.empty() || !seen.insert(j.name).second) return Status::UserError("instance.jobs: job name '" + j.name + "' empty or repeated");
    if (j.configs.empty()) return Status::UserError("job '" + j.name + "': no configurations");
    for (const auto& c : j.configs) {
      if (std::find(known.begin(), known.end(), c.technique) == known.end())
        return Status::UserError("job '" + j.name + "': unknown technique '" + c.technique + "'");
      if (c.placements.empty())
        return Status::UserError("job '" + j.name + "': " + c.technique + " x" + std::to_string(c.devices) +
                                 " does not fit the plan's nodes");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<Plan> ParsePlan(const std::string& text, const std::string& path) {
  Plan p;
  try {
    json doc = json::parse(text);
    if (doc.value("version", 0) != 1) return Status::UserError(path + ": not a version 1 saturn plan");
    p.policy = doc.at("policy").get<std::string>();
    p.sweep = doc.value("sweep", "");
    p.lower_bound = doc.at("lower_bound_seconds").get<double>();
    const json& s = doc.at("solver");
    p.solver.status = s.at("status").get<std::string>();
    p.solver.method = s.value("method", "");
    p.solver.objective = s.at("objective").get<double>();
    p.solver.best_bound = s.at("best_bound").get<double>();
    p.solver.gap = s.at("gap").get<double>();
    p.solver.seconds = s.at("seconds").get<double>();
    p.solver.grid_seconds = s.value("grid_seconds", 0.0);
    p.solver.subproblems = s.value("subproblems", 0);
    const json& in = doc.at("instance");
    p.instance.sweep = p.sweep;
    p.instance.objective = doc.value("objective", "makespan");
    Status objective = CheckObjective(p.instance.objective);
    if (!objective.ok())
      return Status::UserError(path + ": objective '" + p.instance.objective +
                               "' is not one saturn knows; give a plan file that `saturn plan -o` wrote");
    p.offset_seconds = doc.contains("offset_seconds") ? Seconds(doc, "offset_seconds") : 0;
    std::vector<std::string> node_kinds;
    for (const auto& n : in.at("nodes")) {
      p.instance.nodes.push_back({n.at("name").get<std::string>(), int(Integer(n, "devices", 1, 4096)), 0});
      node_kinds.push_back(n.value("kind", ""));
    }
    IndexKinds(&p.instance, node_kinds);
    for (const auto& j : in.at("jobs")) {
      PlanJob pj;
      pj.name = j.at("job").get<std::string>();
      pj.steps = Integer(j, "steps", 1, 1LL << 50);
      // As the sweep allows them (config/fields.cc): priority in (0, 1e6], deadlines up to 1e5 h.
      if (j.contains("priority")) {
        const json& w = j.at("priority");
        if (!w.is_number() || !(w.get<double>() > 0 && w.get<double>() <= 1e6))
          throw BadValue("job '" + pj.name + "': \"priority\" must be a number in (0, 1e6], got " + w.dump());
        pj.weight = w.get<double>();
      }
      if (j.contains("deadline_seconds")) pj.deadline = Seconds(j, "deadline_seconds", 3.6e8) - p.offset_seconds;
      if (j.contains("release_seconds")) pj.release = Seconds(j, "release_seconds", 3.6e8);
      // A shared set (durations step_seconds x steps), or the job's own list (durations given).
      const bool shared = j.contains("config_set");
      const json* list = &j.at(shared ? "config_set" : "configs");
      if (shared) {
        const json& sets = in.at("config_sets");
        list = &sets.at(size_t(Integer(j, "config_set", 0, (long long)sets.size() - 1)));
      }
      for (const auto& c : *list) {
        Config cfg;
        cfg.technique = c.at("technique").get<std::string>();
        cfg.devices = int(Integer(c, "devices", 1, 1 << 20));
        cfg.step_seconds = Seconds(c, "step_seconds");
        cfg.seconds = shared ? cfg.step_seconds * double(pj.steps) : Seconds(c, "seconds");
        if (!(cfg.seconds <= 1e12))
          throw BadValue("job '" + pj.name + "': step_seconds x steps is past 1e12 seconds");
        cfg.peak_memory_bytes = c.contains("peak_memory_bytes") ? Integer(c, "peak_memory_bytes", 0, 1LL << 62) : 0;
        cfg.knobs_json = c.value("knobs", json::object()).dump();
        cfg.estimated = c.value("estimated", false);
        const std::string kind = c.value("kind", "");
        cfg.kind = KindIndex(p.instance, kind);
        if (cfg.kind < 0)
          return Status::UserError(path + ": job '" + pj.name + "': configuration on node kind '" + kind +
                                   "', which no node of the plan has; give a plan file that `saturn plan -o` wrote");
        pj.configs.push_back(cfg);
      }
      p.instance.jobs.push_back(std::move(pj));
    }
    ComputePlacements(&p.instance);
    Status valid = CheckPlanInstance(p.instance);
    if (!valid.ok()) return Status::UserError(path + ": " + valid.message() + "; give a plan file that `saturn plan -o` wrote");
    for (auto& pj : p.instance.jobs) OrderConfigs(&pj);
    std::map<std::string, int> node_index, job_index;
    for (size_t n = 0; n < p.instance.nodes.size(); ++n) node_index[p.instance.nodes[n].name] = int(n);
    for (const auto& r : in.value("reserved", json::array())) {
      Reservation res;
      res.job = r.at("job").get<std::string>();
      res.technique = r.at("technique").get<std::string>();
      res.devices = int(Integer(r, "devices", 1, 1 << 20));
      const std::string node = r.at("node").get<std::string>();
      if (!node_index.count(node)) return Status::UserError(path + ": reservation of '" + res.job + "' on unknown node '" + node + "'");
      res.node = node_index[node];
      for (const json& d : r.at("device_ids")) res.device_ids.push_back(int(IntegerValue(d, "device_ids", 0, 4095)));
      res.out_of_use = r.value("out_of_use", false);
      res.until = res.out_of_use ? kForever : Seconds(r, "until_seconds");
      p.instance.reserved.push_back(std::move(res));
    }
    for (size_t j = 0; j < p.instance.jobs.size(); ++j) job_index[p.instance.jobs[j].name] = int(j);
    p.schedule.jobs.resize(p.instance.jobs.size());
    for (const auto& jj : doc.at("jobs")) {
      std::string name = jj.at("job").get<std::string>();
      if (!job_index.count(name)) return Status::UserError(path + ": job '" + name + "' is not in the plan's instance");
      int j = job_index[name];
      const PlanJob& pj = p.instance.jobs[j];
      Assignment& a = p.schedule.jobs[j];
      std::vector<int> nodes;
      for (const auto& pl : jj.at("placement")) {
        std::string node = pl.at("node").get<std::string>();
        if (!node_index.count(node)) return Status::UserError(path + ": job '" + name + "' placed on unknown node '" + node + "'");
        nodes.push_back(node_index[node]);
        std::vector<int> ids;
        for (const json& d : pl.at("devices")) ids.push_back(int(IntegerValue(d, "devices", 0, 4095)));
        a.device_ids.push_back(std::move(ids));
      }
      std::string tech = jj.at("technique").get<std::string>();
      int devices = int(Integer(jj, "devices", 1, 1 << 20));
      const int kind = nodes.empty() ? 0 : p.instance.nodes[size_t(nodes.front())].kind;
      if (jj.value("kind", "") != p.instance.kinds[size_t(kind)])
        return Status::UserError(path + ": job '" + name + "' is of kind '" + jj.value("kind", "") +
                                 "', but its nodes are of kind '" + p.instance.kinds[size_t(kind)] +
                                 "'; give a plan file that `saturn plan -o` wrote");
      for (int c = 0; c < int(pj.configs.size()); ++c)
        if (pj.configs[c].technique == tech && pj.configs[c].devices == devices && pj.configs[c].kind == kind) a.config = c;
      if (a.config < 0) return Status::UserError(path + ": job '" + name + "': no configuration " + tech + " x" + std::to_string(devices));
      const auto& pls = pj.configs[a.config].placements;
      for (int q = 0; q < int(pls.size()); ++q)
        if (pls[q].nodes == nodes) a.placement = q;
      if (a.placement < 0) return Status::UserError(path + ": job '" + name + "': its nodes do not fit its configuration");
      a.start = Seconds(jj, "start_seconds");
      a.end = Seconds(jj, "end_seconds");
    }
  } catch (const json::exception& e) {
    std::string at;
    const std::string why = JsonReason(e, text, &at);
    return Status::UserError(path + (at.empty() ? "" : ":" + at) + ": not a saturn plan (" + why +
                             "); give a plan file that `saturn plan -o` wrote");
  } catch (const BadValue& e) {
    return Status::UserError(path + ": not a saturn plan (" + e.what() + "); give a plan file that `saturn plan -o` wrote");
  }
  Status st = CheckSchedule(p.instance, p.schedule);
  if (!st.ok()) return Status::UserError(path + ": " + st.message());
  return p;
}

Result<Plan> LoadPlan(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParsePlan(*text, path);
}

}  // namespace saturn
