// Replan: the residual instance (waiting jobs with what they have left, running jobs as
// reservations), the current plan's prediction on it, and a local search warm-started from that.
//
// The prediction of "keep the plan" follows the orchestrator's rule: each waiting job, in its
// planned order, starts on its planned devices once every one of them is free. That schedule is
// itself valid for the residual instance, so the search starts from it and the result is never
// predicted to end later. CBC is not used here: the warm-started local search answers within a
// fraction of a second on sweeps of tens of jobs, which is what a re-plan in flight needs.
#include "plan/replan.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "plan/json_values.h"
#include "plan/objective.h"
#include "plan/policies.h"
#include "util/clock.h"
#include "util/files.h"
#include "util/json_error.h"

namespace saturn {
namespace {

using json = nlohmann::json;

// Seconds from the residual's time 0 until its last job or reservation ends.
double EndOf(const Instance& inst, const Schedule& s) {
  double end = s.makespan();
  for (const Reservation& r : inst.reserved)
    if (!r.out_of_use) end = std::max(end, r.until);
  return end;
}

// The instance's Score of a residual schedule; under makespan, the time to the end counts the
// running jobs' reservations too.
Score ResidualScore(const Instance& inst, const Schedule& s) {
  Score k = PlanScore(inst, s);
  if (inst.objective == "makespan") k.primary = EndOf(inst, s);
  return k;
}

int ConfigOf(const PlanJob& job, const std::string& technique, int devices, int kind) {
  for (int c = 0; c < int(job.configs.size()); ++c)
    if (job.configs[c].technique == technique && job.configs[c].devices == devices && job.configs[c].kind == kind)
      return c;
  return -1;
}

int PlacementOn(const Config& c, const std::vector<int>& nodes) {
  for (int p = 0; p < int(c.placements.size()); ++p)
    if (c.placements[p].nodes == nodes) return p;
  return -1;
}

// A job's choice, checked against the instance.
struct Checked {
  int config = -1, placement = -1;
  std::vector<std::vector<int>> device_ids;  // per node of the placement
};

Result<Checked> CheckChoice(const Instance& inst, const PlanJob& job, const JobState& js) {
  const std::string what = "job '" + js.job + "' (" + js.state + ")";
  Checked c;
  std::map<int, const std::vector<int>*> parts;  // node index -> its device ids, nodes ascending
  for (const PlacedOn& on : js.placement) {
    int node = -1;
    for (int n = 0; n < int(inst.nodes.size()); ++n)
      if (inst.nodes[n].name == on.node) node = n;
    if (node < 0) return Status::UserError(what + ": no node '" + on.node + "' in the plan");
    if (!parts.emplace(node, &on.device_ids).second) return Status::UserError(what + ": node '" + on.node + "' twice");
  }
  std::vector<int> nodes;
  for (const auto& [n, ids] : parts) nodes.push_back(n);
  // The configuration of the kind of its first node (a placement never spans kinds).
  const int kind = nodes.empty() ? 0 : inst.nodes[size_t(nodes.front())].kind;
  c.config = ConfigOf(job, js.technique, js.devices, kind);
  if (c.config < 0)
    return Status::UserError(what + ": the plan has no configuration " + js.technique + " x" + std::to_string(js.devices) +
                             KindSuffix(inst, kind));
  c.placement = PlacementOn(job.configs[c.config], nodes);
  if (c.placement < 0)
    return Status::UserError(what + ": " + js.technique + " x" + std::to_string(js.devices) +
                             " cannot be placed on the nodes given");
  const Placement& pl = job.configs[c.config].placements[c.placement];
  for (size_t k = 0; k < nodes.size(); ++k) {
    const std::vector<int>& given = *parts[nodes[k]];
    std::set<int> ids(given.begin(), given.end());
    const int cap = inst.nodes[nodes[k]].devices;
    if (int(ids.size()) != pl.use[k] || given.size() != ids.size() || *ids.begin() < 0 || *ids.rbegin() >= cap)
      return Status::UserError(what + ": needs " + std::to_string(pl.use[k]) + " distinct device ids of node " +
                               inst.nodes[nodes[k]].name + " (0.." + std::to_string(cap - 1) + ")");
    c.device_ids.push_back(given);
  }
  return c;
}

struct Residual {
  Instance inst;
  std::vector<double> order;    // per residual job: its place in the current plan
  std::vector<Checked> choice;  // per residual job: its current choice
  Schedule kept;                // the current choices on their devices, in that order
  std::vector<std::string> unplaceable;  // waiting jobs the devices in use cannot host
};

// Whether some configuration of `job` has a placement whose every node has enough devices in use.
bool FitsSomewhere(const PlanJob& job, const std::vector<int>& usable) {
  for (const Config& c : job.configs)
    for (const Placement& p : c.placements) {
      bool fits = true;
      for (size_t k = 0; k < p.nodes.size() && fits; ++k) fits = usable[size_t(p.nodes[k])] >= p.use[k];
      if (fits) return true;
    }
  return false;
}

// The state's excluded devices on the nodes at hand, as out-of-use reservations (once each, also
// when the base already has them); each node's count of devices left in use.
Result<std::vector<int>> AddOutOfUse(const SweepState& st, Instance* inst) {
  std::set<std::pair<int, int>> out;
  for (const Reservation& r : inst->reserved)
    if (r.out_of_use)
      for (int d : r.device_ids) out.insert({r.node, d});
  for (const PlacedOn& on : st.excluded) {
    int node = -1;
    for (int n = 0; n < int(inst->nodes.size()); ++n)
      if (inst->nodes[n].name == on.node) node = n;
    if (node < 0) continue;  // a node out of reach: nothing goes there anyway
    std::vector<int> ids;
    for (int d : on.device_ids) {
      if (d < 0 || d >= inst->nodes[node].devices)
        return Status::UserError("excluded: device " + std::to_string(d) + " of node " + on.node + " is not among its " +
                                 std::to_string(inst->nodes[node].devices) + " devices");
      if (out.insert({node, d}).second) ids.push_back(d);
    }
    if (!ids.empty())
      inst->reserved.push_back({"(out of use)", "", int(ids.size()), node, ids, kForever, /*out_of_use=*/true});
  }
  std::vector<int> usable;
  for (const PlanNode& n : inst->nodes) usable.push_back(n.devices);
  for (const auto& [node, d] : out) --usable[size_t(node)];
  return usable;
}

// The base on `names` alone (every node when empty), with placements across nodes only when
// `span`: placements recomputed, configurations that fit none of those nodes dropped.
Result<Instance> OnNodes(const Instance& base, std::vector<std::string> names, bool span) {
  if (names.empty() && span) return base;
  if (names.empty())
    for (const PlanNode& n : base.nodes) names.push_back(n.name);
  Instance in = base;
  in.nodes.clear();
  in.reserved.clear();
  for (const std::string& name : names) {
    auto it = std::find_if(base.nodes.begin(), base.nodes.end(), [&](const PlanNode& n) { return n.name == name; });
    if (it == base.nodes.end()) return Status::UserError("nodes: no node '" + name + "' in the plan");
    in.nodes.push_back(*it);
  }
  for (Reservation r : base.reserved) {
    auto it = std::find(names.begin(), names.end(), base.nodes[r.node].name);
    if (it != names.end()) r.node = int(it - names.begin()), in.reserved.push_back(std::move(r));
  }
  ComputePlacements(&in, span);
  for (PlanJob& pj : in.jobs) {
    pj.configs.erase(std::remove_if(pj.configs.begin(), pj.configs.end(), [](const Config& c) { return c.placements.empty(); }),
                     pj.configs.end());
    OrderConfigs(&pj);
  }
  return in;
}

// How a residual job's configurations are timed. A job not moved: the profile's time scaled by
// the fraction of steps left. A moved one: its measured time left over the profile's time for
// its current configuration scales every configuration of it (a job running slower than
// profiled is taken to be slower everywhere), plus what restarting it costs; it starts no
// sooner than its stop is done (`release`), wherever it goes.
struct Timing {
  bool moved = false;
  double drift = 1, extra = 0, release = 0;
  double Seconds(double profiled, long long steps_left, long long steps) const {
    return moved ? profiled * drift + extra : profiled * double(steps_left) / double(steps);
  }
};

// A running job's devices held in `r` (until it ends, or until it stops when moved), and how it
// is timed if moved.
Result<Timing> HoldRunning(const PlanJob& job, const JobState& js, const Checked& choice, bool moved, Residual* r) {
  if (!(js.remaining_seconds >= 0) || !std::isfinite(js.remaining_seconds))
    return Status::UserError("job '" + js.job + "': remaining_seconds must be a finite number >= 0");
  const double held = moved ? js.stop_seconds : js.remaining_seconds;
  const Placement& pl = job.configs[choice.config].placements[choice.placement];
  for (size_t k = 0; k < pl.nodes.size(); ++k)
    r->inst.reserved.push_back({js.job, js.technique, js.devices, pl.nodes[k], choice.device_ids[k], held});
  Timing t;
  t.moved = moved;
  if (moved) {
    t.extra = js.restart_seconds;
    t.release = js.stop_seconds;
    t.drift = js.remaining_seconds / std::max(1e-9, job.configs[choice.config].seconds);
  }
  return t;
}

// The kept schedule: in planned order, each job on its current devices once all of them are free.
Schedule KeptSchedule(const Residual& r) {
  const int n = int(r.inst.jobs.size());
  std::vector<int> idx(n);
  for (int j = 0; j < n; ++j) idx[j] = j;
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return r.order[a] < r.order[b]; });
  std::vector<std::vector<double>> free_at(r.inst.nodes.size());
  for (size_t k = 0; k < r.inst.nodes.size(); ++k) free_at[k].assign(r.inst.nodes[k].devices, 0.0);
  for (const Reservation& res : r.inst.reserved)
    for (int d : res.device_ids) free_at[res.node][d] = res.until;
  Schedule kept;
  kept.jobs.resize(n);
  for (int j : idx) {
    const Checked& ch = r.choice[j];
    const Config& c = r.inst.jobs[j].configs[ch.config];
    const std::vector<int>& nodes = c.placements[ch.placement].nodes;
    double start = r.inst.jobs[j].release;
    for (size_t k = 0; k < nodes.size(); ++k)
      for (int d : ch.device_ids[k]) start = std::max(start, free_at[nodes[k]][d]);
    for (size_t k = 0; k < nodes.size(); ++k)
      for (int d : ch.device_ids[k]) free_at[nodes[k]][d] = start + c.seconds;
    kept.jobs[j] = {ch.config, ch.placement, start, start + c.seconds, ch.device_ids};
  }
  return kept;
}

// `move`: running jobs that become jobs of the residual, first in order, as a stop at their next
// step boundary and a launch under any choice would make them (their old devices held until
// the stop is done).
Result<Residual> BuildResidual(const Instance& full, const SweepState& st, const std::set<std::string>& move) {
  Result<Instance> on = OnNodes(full, st.nodes, st.span_nodes);
  if (!on.ok()) return on.status();
  const Instance& base = *on;
  Residual r;
  r.inst.sweep = base.sweep;
  r.inst.objective = base.objective;
  r.inst.kinds = base.kinds;
  r.inst.nodes = base.nodes;
  for (Reservation res : base.reserved)
    if (res.out_of_use) r.inst.reserved.push_back(std::move(res));
    else if (res.until > st.now + 1e-6) res.until -= st.now, r.inst.reserved.push_back(std::move(res));
  Result<std::vector<int>> usable = AddOutOfUse(st, &r.inst);
  if (!usable.ok()) return usable.status();
  std::map<std::string, const JobState*> by_name;
  for (const JobState& js : st.jobs) {
    if (!by_name.emplace(js.job, &js).second) return Status::UserError("job '" + js.job + "' appears twice in the state");
    if (js.state != "finished" && js.state != "running" && js.state != "waiting")
      return Status::UserError("job '" + js.job + "': state '" + js.state + "' is none of finished, running, waiting");
  }
  for (const PlanJob& job : base.jobs) {
    auto it = by_name.find(job.name);
    if (it == by_name.end()) return Status::UserError("the state says nothing of job '" + job.name + "' of the plan");
    const JobState& js = *it->second;
    by_name.erase(it);
    if (js.state == "finished") continue;
    Result<Checked> choice = CheckChoice(r.inst, job, js);
    if (!choice.ok()) return choice.status();
    Timing timing;
    double order = js.order;
    if (js.state == "running") {
      Result<Timing> held = HoldRunning(job, js, *choice, move.count(js.job) > 0, &r);
      if (!held.ok()) return held.status();
      if (!held->moved) continue;
      timing = *held;
      order = -kForever;
    }
    if (!(js.remaining_fraction > 0 && js.remaining_fraction <= 1))
      return Status::UserError("job '" + js.job + "': remaining_fraction must be in (0, 1]");
    if (!FitsSomewhere(job, *usable)) {
      r.unplaceable.push_back(job.name);
      continue;
    }
    PlanJob left = job;
    left.deadline = job.deadline - st.now;  // the residual's time 0 is now
    // A moved job starts once stopped; another keeps what is left of a release the base gave it.
    left.release = timing.moved ? timing.release : std::max(0.0, job.release - st.now);
    left.steps = std::max(1LL, (long long)std::llround(double(job.steps) * js.remaining_fraction));
    for (Config& c : left.configs) c.seconds = timing.Seconds(c.seconds, left.steps, job.steps);
    // Every configuration scaled alike: the same order, but a tie may fall otherwise. Placements
    // travel with their configuration.
    const int kind = job.configs[size_t(choice->config)].kind;
    OrderConfigs(&left);
    choice->config = ConfigOf(left, js.technique, js.devices, kind);
    r.inst.jobs.push_back(std::move(left));
    r.order.push_back(order);
    r.choice.push_back(std::move(*choice));
  }
  if (!by_name.empty()) return Status::UserError("job '" + by_name.begin()->first + "' of the state is not in the plan");
  // Running jobs may not share a device.
  std::set<std::pair<int, int>> held;
  for (const Reservation& res : r.inst.reserved)
    for (int d : res.device_ids)
      if (!held.insert({res.node, d}).second)
        return Status::UserError("job '" + res.job + "': device " + std::to_string(d) + " of node " +
                                 r.inst.nodes[res.node].name + " is already held by another running job, or out of use");
  r.kept = KeptSchedule(r);
  return r;
}

struct Searched {
  Residual res;
  Schedule best;
  double end() const { return EndOf(res.inst, best); }
  Score score() const { return ResidualScore(res.inst, best); }
};

// The residual with `move` moved, and the best schedule a search from its kept one finds.
Result<Searched> Search(const Instance& base, const SweepState& state, const std::set<std::string>& move,
                        const ReplanOptions& opt, double seconds) {
  Result<Residual> res = BuildResidual(base, state, move);
  if (!res.ok()) return res.status();
  Searched s{std::move(*res), {}};
  const Instance& inst = s.res.inst;
  Status kept_ok = CheckSchedule(inst, s.res.kept);
  if (!kept_ok.ok()) return Status::UserError("the state's waiting jobs: " + kept_ok.message());
  s.best = s.res.kept;
  auto consider = [&](const Schedule& c) {
    if (Better(ResidualScore(inst, c), ResidualScore(inst, s.best))) s.best = c;
  };
  if (!inst.jobs.empty()) {
    auto t0 = std::chrono::steady_clock::now();
    consider(OnFront(inst, s.res.kept));
    const long moves = opt.max_moves != 0 ? opt.max_moves : 4000L * long(inst.jobs.size());
    consider(LocalSearchSchedule(inst, s.best, moves, std::max(0.0, seconds - SecondsSince(t0)), opt.seed));
  }
  return s;
}

// Whether job `name` of the searched residual runs elsewhere than its current choice.
bool Moves(const Searched& s, const std::string& name) {
  for (size_t j = 0; j < s.res.inst.jobs.size(); ++j)
    if (s.res.inst.jobs[j].name == name) {
      const Assignment& a = s.best.jobs[j];
      const Checked& c = s.res.choice[j];
      return a.config != c.config || a.placement != c.placement || a.device_ids != c.device_ids;
    }
  return false;
}

// Movable running jobs worth trying, the longest to run first (ties by name): those whose time
// left exceeds what moving costs.
std::vector<std::string> MoveCandidates(const SweepState& state) {
  std::vector<const JobState*> c;
  for (const JobState& js : state.jobs)
    if (js.state == "running" && js.movable && js.remaining_seconds > js.stop_seconds + js.restart_seconds) c.push_back(&js);
  std::sort(c.begin(), c.end(), [](const JobState* a, const JobState* b) {
    return a->remaining_seconds != b->remaining_seconds ? a->remaining_seconds > b->remaining_seconds : a->job < b->job;
  });
  std::vector<std::string> names;
  for (size_t i = 0; i < c.size() && i < 16; ++i) names.push_back(c[i]->job);  // each try is a search
  return names;
}

Status CheckMovable(const SweepState& state) {
  for (const JobState& js : state.jobs) {
    if (!js.movable) continue;
    for (double v : {js.stop_seconds, js.restart_seconds})
      if (!(v >= 0) || !std::isfinite(v))
        return Status::UserError("job '" + js.job + "': stop_seconds and restart_seconds must be finite numbers >= 0");
  }
  return Status::Ok();
}

}  // namespace

Result<Replanned> Replan(const Instance& base, const SweepState& state, const ReplanOptions& opt) {
  auto t0 = std::chrono::steady_clock::now();
  SATURN_RETURN_IF_ERROR(CheckMovable(state));
  const std::vector<std::string> candidates = MoveCandidates(state);
  // Without movable jobs the whole time goes to the one search; with them half of it, and the
  // rest shared by one search per job tried.
  const double limit = opt.time_limit_seconds;
  Result<Searched> kept = Search(base, state, {}, opt, candidates.empty() ? limit : limit / 2);
  if (!kept.ok()) return kept.status();
  const double kept_seconds = EndOf(kept->res.inst, kept->res.kept);
  const Score kept_score = ResidualScore(kept->res.inst, kept->res.kept);
  Searched chosen = std::move(*kept);
  // A move must gain its share of the best plan that keeps every running job where it is, not
  // of the current plan: that one may be blocked (a waiting job on a device out of use), and a
  // share of forever would bar every move.
  const double need = std::max(1e-6, state.move_gain * chosen.score().primary);
  std::set<std::string> moved;
  // Greedy: each job in turn is moved when that alone, on top of the moves taken, gains enough.
  for (size_t i = 0; i < candidates.size(); ++i) {
    const double left = limit - SecondsSince(t0);
    if (left <= 0) break;
    std::set<std::string> trial = moved;
    trial.insert(candidates[i]);
    Result<Searched> s = Search(base, state, trial, opt, left / double(candidates.size() - i));
    if (!s.ok()) return s.status();
    // Every job of the trial placed, and elsewhere than it runs: a search that left one where it
    // is would stop and relaunch it there for nothing.
    bool all_move = true;
    for (const std::string& name : trial)
      all_move = all_move && Moves(*s, name) &&
                 std::find(s->res.unplaceable.begin(), s->res.unplaceable.end(), name) == s->res.unplaceable.end();
    if (all_move && Gains(s->score(), chosen.score(), need)) moved = std::move(trial), chosen = std::move(*s);
  }
  const Instance& inst = chosen.res.inst;
  Status st = CheckSchedule(inst, chosen.best);
  assert(st.ok() && "re-plans are valid schedules");
  if (!st.ok()) return st;

  Replanned out;
  out.kept_seconds = kept_seconds;
  out.new_seconds = chosen.end();
  out.kept_score = kept_score;
  out.new_score = chosen.score();
  out.unplaceable = chosen.res.unplaceable;
  out.moved.assign(moved.begin(), moved.end());
  Plan& p = out.plan;
  p.policy = "replan";
  p.sweep = base.sweep;
  p.instance = inst;
  p.schedule = std::move(chosen.best);
  p.offset_seconds = state.now;
  p.lower_bound = LowerBound(inst);
  p.solver.status = "heuristic";
  p.solver.method = moved.empty() ? "local search warm-started from the current plan"
                                  : "local search warm-started from the current plan, running jobs moved at a checkpoint";
  p.solver.best_bound = inst.objective == "makespan" ? p.lower_bound : MeanCompletionBound(inst);
  p.solver.Settle(inst.objective == "makespan" ? out.new_seconds : ObjectiveValue(inst, p.schedule), /*proves=*/true);
  p.solver.seconds = SecondsSince(t0);
  return out;
}

JobState StateOf(const Instance& inst, int job, const Assignment& a) {
  JobState s;
  s.job = inst.jobs[job].name;
  const Config& c = inst.jobs[job].configs[a.config];
  s.technique = c.technique;
  s.devices = c.devices;
  const Placement& pl = c.placements[a.placement];
  for (size_t k = 0; k < pl.nodes.size(); ++k) s.placement.push_back({inst.nodes[pl.nodes[k]].name, a.device_ids[k]});
  return s;
}

namespace {

PlacedOn ParsePlacedOn(const json& on, const std::string& what) {
  if (!on.is_object() || !on.contains("devices") || !on["devices"].is_array())
    throw BadValue(what + " entries are {\"node\": NAME, \"devices\": [IDS]}");
  PlacedOn p{Text(on, "node"), {}};
  for (const json& d : on["devices"]) p.device_ids.push_back(int(IntegerValue(d, what + " devices", 0, 1 << 20)));
  return p;
}

double Fraction(const json& e) {
  const json& f = e.contains("remaining_fraction") ? e["remaining_fraction"] : json();
  if (!f.is_number() || !(f.get<double>() > 0 && f.get<double>() <= 1))
    throw BadValue("remaining_fraction must be a number in (0, 1], got " + f.dump());
  return f.get<double>();
}

}  // namespace

std::string SweepStateToJson(const SweepState& s) {
  json jobs = json::array();
  for (const JobState& j : s.jobs) {
    json e = {{"job", j.job}, {"state", j.state}};
    json placement = json::array();
    for (const PlacedOn& on : j.placement) placement.push_back({{"node", on.node}, {"devices", on.device_ids}});
    if (j.state != "finished") e.update({{"technique", j.technique}, {"devices", j.devices}, {"placement", placement}});
    if (j.state == "running") e["remaining_seconds"] = j.remaining_seconds;
    if (j.state == "running" && j.movable)
      e.update({{"movable", true}, {"remaining_fraction", j.remaining_fraction}, {"stop_seconds", j.stop_seconds},
                {"restart_seconds", j.restart_seconds}});
    if (j.state == "waiting") e.update({{"remaining_fraction", j.remaining_fraction}, {"order_seconds", j.order}});
    jobs.push_back(e);
  }
  json doc = {{"version", 1}, {"plan", s.plan}, {"now_seconds", s.now}, {"jobs", jobs}};
  if (!s.nodes.empty()) doc["nodes"] = s.nodes;
  if (!s.span_nodes) doc["span_nodes"] = false;
  if (std::any_of(s.jobs.begin(), s.jobs.end(), [](const JobState& j) { return j.movable; })) doc["move_gain"] = s.move_gain;
  if (!s.excluded.empty()) {
    json excluded = json::array();
    for (const PlacedOn& on : s.excluded) excluded.push_back({{"node", on.node}, {"devices", on.device_ids}});
    doc["excluded"] = excluded;
  }
  return doc.dump(1) + "\n";
}

Result<SweepState> ParseSweepState(const std::string& text, const std::string& path) {
  SweepState s;
  const std::string how = "; give a state file that `saturn run --plan` wrote (state-N.json)";
  std::string where;  // the job being read, for errors
  try {
    const json doc = json::parse(text);
    if (!doc.is_object() || doc.value("version", 0) != 1)
      return Status::UserError(path + ": not a version 1 saturn sweep state" + how);
    s.plan = Text(doc, "plan");
    if (!s.plan.empty() && s.plan[0] != '/')
      s.plan = (std::filesystem::path(path).parent_path() / s.plan).lexically_normal().string();
    s.now = Seconds(doc, "now_seconds");
    if (doc.contains("nodes")) {
      if (!doc["nodes"].is_array()) throw BadValue("nodes must be a list of node names");
      for (const json& n : doc["nodes"]) {
        if (!n.is_string()) throw BadValue("nodes must be a list of node names");
        s.nodes.push_back(n.get<std::string>());
      }
    }
    if (doc.contains("span_nodes")) {
      if (!doc["span_nodes"].is_boolean()) throw BadValue("span_nodes must be true or false");
      s.span_nodes = doc["span_nodes"].get<bool>();
    }
    if (doc.contains("move_gain")) {
      const json& g = doc["move_gain"];
      if (!g.is_number() || !(g.get<double>() >= 0 && g.get<double>() <= 1))
        throw BadValue("move_gain must be a number in [0, 1], got " + g.dump());
      s.move_gain = g.get<double>();
    }
    if (doc.contains("excluded")) {
      if (!doc["excluded"].is_array()) throw BadValue("excluded must be a list of {node, devices}");
      for (const json& on : doc["excluded"]) s.excluded.push_back(ParsePlacedOn(on, "excluded"));
    }
    if (!doc.contains("jobs") || !doc["jobs"].is_array()) throw BadValue("jobs must be a list");
    for (size_t i = 0; i < doc["jobs"].size(); ++i) {
      const json& e = doc["jobs"][i];
      where = "jobs[" + std::to_string(i) + "]: ";
      if (!e.is_object()) throw BadValue("not an object");
      JobState j;
      j.job = Text(e, "job");
      where = "jobs[" + std::to_string(i) + "] ('" + j.job + "'): ";
      j.state = Text(e, "state");
      if (j.state == "finished") {
        s.jobs.push_back(std::move(j));
        continue;
      }
      j.technique = Text(e, "technique");
      j.devices = int(Integer(e, "devices", 1, 1 << 20));
      if (!e.contains("placement") || !e["placement"].is_array() || e["placement"].empty())
        throw BadValue("placement must be a non-empty list of {node, devices}");
      for (const json& on : e["placement"]) j.placement.push_back(ParsePlacedOn(on, "placement"));
      if (j.state == "running") {
        j.remaining_seconds = Seconds(e, "remaining_seconds", 1e9);
        if (e.contains("movable") && !e["movable"].is_boolean()) throw BadValue("movable must be true or false");
        j.movable = e.value("movable", false);
        if (j.movable) {
          j.remaining_fraction = Fraction(e);
          j.stop_seconds = Seconds(e, "stop_seconds", 1e9);
          j.restart_seconds = Seconds(e, "restart_seconds", 1e9);
        }
      } else {
        // Negative: a job the orchestrator put ahead of every job not yet started (one that
        // trained before a resume, or waits again after its devices went out of use).
        const json& o = e.contains("order_seconds") ? e["order_seconds"] : json();
        if (!o.is_number() || !std::isfinite(o.get<double>()) || std::fabs(o.get<double>()) > 4e12)
          throw BadValue("order_seconds must be a number of seconds within +-4e12, got " + o.dump());
        j.order = o.get<double>();
        if (e.contains("remaining_fraction")) j.remaining_fraction = Fraction(e);
      }
      s.jobs.push_back(std::move(j));
    }
  } catch (const json::exception& e) {
    std::string at;
    const std::string why = JsonReason(e, text, &at);
    return Status::UserError(path + (at.empty() ? "" : ":" + at) + ": not a saturn sweep state (" + where + why + ")" + how);
  } catch (const BadValue& e) {
    return Status::UserError(path + ": " + where + e.what() + how);
  }
  return s;
}

Result<SweepState> LoadSweepState(const std::string& path) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseSweepState(*text, path);
}

}  // namespace saturn
