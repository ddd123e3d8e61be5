#include "plan/instance.h"

#include <cstdio>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include "technique/names.h"
#include "util/suggest.h"

namespace saturn {

int Config::width() const {
  assert(!placements.empty());
  int w = 0;
  for (int u : placements.front().use) w += u;
  return w;
}

int Instance::total_devices() const {
  int n = 0;
  for (const auto& node : nodes) n += node.devices;
  return n;
}

const std::vector<Placement>& Placements::list() const {
  static const std::vector<Placement> kNone;
  return all_ ? *all_ : kNone;
}

namespace {

std::vector<Placement> PlacementsOf(const std::vector<PlanNode>& all, int kind, int devices, bool span) {
  std::vector<int> nodes;  // this kind's, ascending
  for (size_t n = 0; n < all.size(); ++n)
    if (all[n].kind == kind) nodes.push_back(int(n));
  std::vector<Placement> out;
  for (int n : nodes)
    if (all[size_t(n)].devices >= devices) out.push_back({{n}, {devices}});
  if (!out.empty() || !span) return out;
  // Wider than every node: aligned blocks of m equal nodes.
  std::set<int> sizes;
  for (int n : nodes) sizes.insert(all[size_t(n)].devices);
  for (int size : sizes) {
    int m = (devices + size - 1) / size;
    for (size_t first = 0; first + m <= nodes.size(); first += m) {
      Placement p;
      for (int k = 0; k < m; ++k) {
        if (all[size_t(nodes[first + k])].devices != size) { p.nodes.clear(); break; }
        p.nodes.push_back(nodes[first + k]);
        p.use.push_back(size);
      }
      if (!p.nodes.empty()) out.push_back(p);
    }
  }
  return out;
}

}  // namespace

void ComputePlacements(Instance* inst, bool span) {
  std::map<std::pair<int, int>, Placements> by_shape;  // (kind, devices)
  for (auto& job : inst->jobs)
    for (auto& c : job.configs) {
      const std::pair<int, int> shape{c.kind, c.devices};
      auto it = by_shape.find(shape);
      if (it == by_shape.end())
        it = by_shape.emplace(shape, Placements(PlacementsOf(inst->nodes, c.kind, c.devices, span))).first;
      c.placements = it->second;
    }
}

void IndexKinds(Instance* inst, const std::vector<std::string>& node_kinds) {
  assert(node_kinds.size() == inst->nodes.size());
  inst->kinds.clear();
  for (size_t n = 0; n < inst->nodes.size(); ++n) {
    int k = KindIndex(*inst, node_kinds[n]);
    if (k < 0) k = int(inst->kinds.size()), inst->kinds.push_back(node_kinds[n]);
    inst->nodes[n].kind = k;
  }
  if (inst->kinds.empty()) inst->kinds.push_back("");
}

int KindIndex(const Instance& inst, const std::string& name) {
  auto it = std::find(inst.kinds.begin(), inst.kinds.end(), name);
  return it == inst.kinds.end() ? -1 : int(it - inst.kinds.begin());
}

std::string KindSuffix(const Instance& inst, int kind) {
  if (inst.kinds.size() < 2) return "";
  const std::string& name = inst.kinds[size_t(kind)];
  return " on " + (name.empty() ? std::string("nodes of no kind") : name);
}

int PlanJob::fastest() const {
  int best = front.front();
  for (int f : front)
    if (configs[size_t(f)].seconds < configs[size_t(best)].seconds) best = f;
  return best;
}

void OrderConfigs(PlanJob* job) {
  auto& cs = job->configs;
  auto rank = [](const std::string& t) {
    const auto& names = TechniqueNames();
    return std::find(names.begin(), names.end(), t) - names.begin();
  };
  // Deterministic order: width, then duration, then technique preference, device count, kind.
  std::sort(cs.begin(), cs.end(), [&](const Config& a, const Config& b) {
    return std::make_tuple(a.width(), a.seconds, rank(a.technique), a.devices, a.kind) <
           std::make_tuple(b.width(), b.seconds, rank(b.technique), b.devices, b.kind);
  });
  job->front.clear();
  std::map<int, double> best;  // per kind: the least duration of the front so far
  for (int i = 0; i < int(cs.size()); ++i) {
    auto it = best.find(cs[size_t(i)].kind);
    if (it != best.end() && cs[size_t(i)].seconds >= it->second) continue;
    best[cs[size_t(i)].kind] = cs[size_t(i)].seconds;
    job->front.push_back(i);
  }
  job->alike.clear();
  if (best.size() < 2) return;
  job->alike.resize(cs.size());
  for (size_t i = 0; i < cs.size(); ++i)
    for (int f : job->front)
      if (cs[size_t(f)].technique == cs[i].technique && cs[size_t(f)].devices == cs[i].devices)
        job->alike[i].push_back(f);
}

Result<Instance> BuildInstance(const Sweep& sweep, const Profile& profile) {
  if (!profile.sweep.empty() && profile.sweep != sweep.name)
    return Status::UserError(profile.path + ": this profile was measured for sweep '" + profile.sweep +
                             "', not '" + sweep.name + "' (" + sweep.path +
                             "); pass the profile of this sweep (its format: docs/profile.md)");
  Instance inst;
  inst.sweep = sweep.name;
  std::vector<std::string> node_kinds;
  for (const auto& n : sweep.cluster.nodes) inst.nodes.push_back({n.name, n.devices, 0}), node_kinds.push_back(n.kind);
  IndexKinds(&inst, node_kinds);
  const std::vector<std::string> kind_names = sweep.cluster.kind_names();  // used by a node or not

  std::vector<std::string> job_names;
  for (const auto& j : sweep.jobs) job_names.push_back(j.name);
  // Indexed once: at thousands of jobs and hundreds of thousands of records, a scan per record
  // or per job would be quadratic.
  std::unordered_map<std::string, const JobSpec*> spec_of;
  for (const auto& j : sweep.jobs) spec_of.emplace(j.name, &j);
  // A measured profile says what it measured: refuse one of other devices or other job settings.
  if (profile.measured.present) {
    const Provenance& m = profile.measured;
    if (!m.device.empty() && m.device != sweep.cluster.device)
      return Status::UserError(profile.path + ": measured on " + m.device + " devices, but " + sweep.path +
                               "'s cluster has " + sweep.cluster.device + " devices; profile this cluster: saturn profile " +
                               sweep.path);
    for (const auto& [name, key] : m.cost_keys) {
      auto it = spec_of.find(name);
      const JobSpec* j = it == spec_of.end() ? nullptr : it->second;
      if (j && j->cost_key() != key)
        return Status::UserError(profile.path + ": job '" + name + "' was measured as " + key + ", but " + sweep.path +
                                 " now gives it " + j->cost_key() + "; profile it again: saturn profile " + sweep.path +
                                 " --resume -o " + profile.path);
    }
  }
  std::unordered_map<std::string, std::vector<const ProfileRecord*>> by_job;
  std::map<std::tuple<std::string, std::string, int, std::string>, const ProfileRecord*> seen;
  std::set<std::string> unused_kinds;
  for (const auto& r : profile.records) {
    if (!spec_of.count(r.job))
      return Status::UserError(profile.where(r) + ": record for job '" + r.job + "', which " + sweep.path +
                               " does not have" + DidYouMean(r.job, job_names) +
                               "; is this the profile of another sweep?");
    if (!r.kind.empty() && std::find(kind_names.begin(), kind_names.end(), r.kind) == kind_names.end())
      return Status::UserError(profile.where(r) + ": record of node kind '" + r.kind + "', which " + sweep.path +
                               "'s cluster.kinds does not list" + DidYouMean(r.kind, kind_names) +
                               "; is this the profile of another cluster?");
    auto key = std::make_tuple(r.job, r.technique, r.devices, r.kind);
    auto [at, fresh] = seen.emplace(key, &r);
    if (!fresh)
      return Status::UserError(profile.where(r) + ": second record for job '" + r.job + "', technique '" +
                               r.technique + "', " + std::to_string(r.devices) + " devices" +
                               (r.kind.empty() ? "" : ", kind '" + r.kind + "'") + " (first at " +
                               profile.where(*at->second) + "); keep one");
    // A kind no node has: nothing to plan on (said once per kind).
    if (KindIndex(inst, r.kind) < 0) {
      if (unused_kinds.insert(r.kind).second)
        inst.notes.push_back(profile.where(r) + ": records of " +
                             (r.kind.empty() ? std::string("no kind") : "kind '" + r.kind + "'") +
                             ", which no node of the cluster has, are not used");
      continue;
    }
    by_job[r.job].push_back(&r);
  }
  // Jobs that differ only in cost-irrelevant settings (learning rate, seed, ...) share records:
  // a job's own records first, then, for each technique and device count it has none of, the
  // first record of a job with its cost key (saturn profile measures each pair under one job).
  // Per cost key, the first record of each pair, in sweep order.
  std::unordered_map<std::string, std::vector<const ProfileRecord*>> by_cost;
  {
    std::set<std::tuple<std::string, std::string, int, std::string>> taken;  // cost key, technique, devices, kind
    for (const auto& j : sweep.jobs) {
      auto it = by_job.find(j.name);
      if (it == by_job.end()) continue;
      const std::string key = j.cost_key();
      for (const ProfileRecord* r : it->second)
        if (taken.insert({key, r->technique, r->devices, r->kind}).second) by_cost[key].push_back(r);
    }
  }
  std::unordered_map<std::string, std::vector<const ProfileRecord*>> shared;
  for (const auto& j : sweep.jobs) {
    std::vector<const ProfileRecord*>& mine = shared[j.name];
    std::set<std::tuple<std::string, int, std::string>> have;
    auto own = by_job.find(j.name);
    if (own != by_job.end())
      for (const ProfileRecord* r : own->second) mine.push_back(r), have.insert({r->technique, r->devices, r->kind});
    for (const ProfileRecord* r : by_cost[j.cost_key()])
      if (have.insert({r->technique, r->devices, r->kind}).second) mine.push_back(r);
  }

  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  for (const auto& j : sweep.jobs) {
    const std::vector<const ProfileRecord*>* recs = &shared[j.name];
    PlanJob pj;
    pj.name = j.name;
    pj.steps = j.steps;
    pj.weight = j.priority;
    if (j.deadline_hours > 0) pj.deadline = j.deadline_hours * 3600;
    std::vector<Config> feasible;
    int considered = 0, infeasible = 0;
    std::string reasons;
    for (const ProfileRecord* r : recs ? *recs : std::vector<const ProfileRecord*>{}) {
      bool allowed = std::count(j.techniques.begin(), j.techniques.end(), r->technique) &&
                     std::count(j.devices.begin(), j.devices.end(), r->devices) &&
                     r->devices <= sweep.cluster.total_devices();
      if (!allowed) continue;
      ++considered;
      const double memory_gib = sweep.cluster.memory_gib(r->kind);
      if (r->feasible && double(r->peak_memory_bytes) > memory_gib * kGiB) {
        char need[128];
        std::snprintf(need, sizeof need, "%.1f GiB per device, above %s%sdevice_memory_gib %g",
                      double(r->peak_memory_bytes) / kGiB, r->kind.empty() ? "" : "kind ",
                      r->kind.empty() ? "" : (r->kind + "'s ").c_str(), memory_gib);
        inst.notes.push_back(profile.where(*r) + ": job '" + j.name + "' " + r->technique + " x" +
                             std::to_string(r->devices) + " needs " + need + "; planned as infeasible");
        ++infeasible;
        if (reasons.find(need) == std::string::npos) reasons += (reasons.empty() ? "" : "; ") + std::string("needs ") + need;
        continue;
      }
      if (!r->feasible) {
        ++infeasible;
        if (!r->reason.empty() && reasons.find(r->reason) == std::string::npos)
          reasons += (reasons.empty() ? "" : "; ") + r->reason;
        continue;
      }
      Config c;
      c.technique = r->technique;
      c.devices = r->devices;
      c.kind = KindIndex(inst, r->kind);
      c.step_seconds = r->step_seconds;
      c.seconds = r->step_seconds * double(j.steps);
      c.peak_memory_bytes = r->peak_memory_bytes;
      c.knobs_json = r->knobs_json;
      c.estimated = r->estimated;
      feasible.push_back(c);
    }
    pj.configs = feasible;
    inst.jobs.push_back(std::move(pj));
    if (feasible.empty()) {
      std::string msg = j.loc.str() + ": job '" + j.name + "' has no feasible configuration in " + profile.path;
      if (!recs) msg += ": the profile has no record for it (nor for a job with the same model, seq_len and batch size)";
      else msg += ": " + std::to_string(considered) + " record(s) match its techniques and device counts, " +
                  std::to_string(infeasible) + " infeasible" + (reasons.empty() ? "" : " (" + reasons + ")");
      const bool kinds = !sweep.cluster.kinds.empty();
      return Status::UserError(msg + "; profile it again" +
                               (kinds ? " (each node kind on its own nodes: saturn profile --kind KIND --resume)" : "") +
                               ", or allow more techniques or device counts");
    }
  }
  int feasible_records = 0, estimated = 0;
  for (const auto& r : profile.records) {
    feasible_records += r.feasible;
    estimated += r.feasible && r.estimated;
  }
  if (estimated > 0)
    inst.notes.push_back(profile.path + ": " + std::to_string(estimated) + " of its " +
                         std::to_string(feasible_records) +
                         " feasible records are estimates of the analytic model (saturn profile --estimate), not "
                         "measurements");
  ComputePlacements(&inst);
  for (auto& pj : inst.jobs) {
    // Configurations no node arrangement can host (e.g. 12 devices on nodes of 5) drop out here.
    pj.configs.erase(std::remove_if(pj.configs.begin(), pj.configs.end(),
                                    [](const Config& c) { return c.placements.empty(); }),
                     pj.configs.end());
    if (pj.configs.empty())
      return Status::UserError(sweep.find_job(pj.name)->loc.str() + ": job '" + pj.name +
                               "': no feasible configuration fits the cluster's nodes; allow other device counts");
    OrderConfigs(&pj);
    const Config& fastest = pj.configs[size_t(pj.fastest())];
    if (fastest.seconds > pj.deadline) {
      char text[200];
      std::snprintf(text, sizeof text, "': deadline_hours %g is shorter than its fastest configuration (%s x%d%s, %.2f h)",
                    pj.deadline / 3600, fastest.technique.c_str(), fastest.devices, KindSuffix(inst, fastest.kind).c_str(),
                    fastest.seconds / 3600);
      return Status::UserError(sweep.find_job(pj.name)->loc.str() + ": job '" + pj.name + text +
                               "; raise deadline_hours, lower steps, or allow more devices or techniques");
    }
  }
  return inst;
}

}  // namespace saturn
