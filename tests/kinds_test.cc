// Clusters that mix node kinds: the sweep names each node's kind and its memory, the profile
// holds records per kind, and the planner picks kind, technique, device count and placement
// together. A job never spans kinds, a record too big for one kind's memory still plans on
// another, the bound counts jobs that only one set of kinds can take, and every policy's plan
// is valid and no better than the brute-force optimum.
#include <cmath>
#include <random>
#include <set>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "config/sweep.h"
#include "plan/plan.h"
#include "plan/policies.h"
#include "plan/replan.h"
#include "run/plan_fit.h"
#include "plan_fixtures.h"
#include "profile/profile.h"

using Catch::Matchers::Contains;
using namespace saturn;
using saturn::testing::BruteForceOptimum;
using saturn::testing::C;

namespace {

// Nodes as (devices, kind); kinds must first appear in ascending order, so that kind k is
// Instance::kinds[k].
Instance KindInstance(const std::vector<std::pair<int, int>>& nodes, const std::vector<std::vector<C>>& jobs) {
  std::vector<int> devices, kinds;
  for (const auto& [d, k] : nodes) devices.push_back(d), kinds.push_back(k);
  Instance inst = saturn::testing::MakeInstance(devices, jobs, kinds);
  for (const PlanJob& pj : inst.jobs) REQUIRE(!pj.configs.empty());
  return inst;
}

// Valid, and each job on nodes of its configuration's kind.
void CheckKinds(const Instance& inst, const Schedule& s) {
  REQUIRE(CheckSchedule(inst, s).ok());
  for (size_t j = 0; j < s.jobs.size(); ++j) {
    const Config& c = inst.jobs[j].configs[size_t(s.jobs[j].config)];
    for (int n : c.placements[size_t(s.jobs[j].placement)].nodes) CHECK(inst.nodes[size_t(n)].kind == c.kind);
  }
}

Plan RunPolicy(const Instance& inst, const std::string& policy, double limit = 10) {
  PlanOptions opt;
  opt.policy = policy;
  opt.time_limit_seconds = limit;
  Result<Plan> plan = MakePlan(inst, opt);
  REQUIRE(plan.ok());
  CheckKinds(inst, plan->schedule);
  CHECK(plan->makespan() >= plan->lower_bound - 1e-6);
  return *plan;
}

// A random instance of whole-second durations on 2 or 3 kinds; a job may be missing on a kind
// (its memory), and another kind may be faster or slower.
Instance RandomKindInstance(std::mt19937& rng, const std::vector<std::pair<int, int>>& nodes, int kinds, int jobs) {
  std::vector<std::vector<C>> js;
  for (int j = 0; j < jobs; ++j) {
    std::vector<C> cs;
    const int base = 4 + int(rng() % 16);
    const int only = rng() % 3 == 0 ? int(rng() % kinds) : -1;  // fits one kind's memory alone
    for (int k = 0; k < kinds; ++k) {
      if (only >= 0 && k != only) continue;
      const double speed = 0.5 + double(rng() % 4) / 4;  // 0.5 .. 1.25
      for (int w : {1, 2}) cs.push_back({w == 1 ? "ddp" : "fsdp", w, std::ceil(base * speed / (0.8 * w)), k});
    }
    js.push_back(cs);
  }
  return KindInstance(nodes, js);
}

const char* kKindSweep =
    "name: mixed\n"
    "cluster:\n"
    "  kinds:\n"
    "    - {name: a100-40gb, device_memory_gib: 40}\n"
    "    - {name: h100-80gb, device_memory_gib: 80}\n"
    "  nodes:\n"
    "    - {name: a0, devices: 2, kind: a100-40gb}\n"
    "    - {name: h0, devices: 2, kind: h100-80gb}\n"
    "    - {name: h1, devices: 2, kind: h100-80gb}\n"
    "jobs:\n"
    "  - name: j\n"
    "    model: m.json\n"
    "    techniques: [ddp, fsdp]\n";

Sweep KindSweep() {
  Result<Sweep> s = ParseSweep(kKindSweep, "mixed.yaml");
  REQUIRE(s.ok());
  return *s;
}

std::string Record(const std::string& technique, int devices, const std::string& kind, double step, double gib) {
  return "{\"job\": \"j\", \"technique\": \"" + technique + "\", \"devices\": " + std::to_string(devices) +
         (kind.empty() ? "" : ", \"kind\": \"" + kind + "\"") + ", \"feasible\": true, \"step_seconds\": " +
         std::to_string(step) + ", \"peak_memory_bytes\": " + std::to_string((long long)(gib * 1073741824.0)) + "}";
}

Result<Instance> Build(const Sweep& sweep, const std::vector<std::string>& records) {
  std::string text = "{\"version\": 1, \"sweep\": \"mixed\", \"records\": [\n";
  for (size_t i = 0; i < records.size(); ++i) text += (i ? ",\n" : "") + records[i];
  Result<Profile> p = ParseProfile(text + "\n]}\n", "p.json");
  REQUIRE(p.ok());
  return BuildInstance(sweep, *p);
}

}  // namespace

TEST_CASE("node kinds in the sweep: each node's kind and memory, and mistakes named where they are", "[kinds]") {
  Sweep s = KindSweep();
  REQUIRE(s.cluster.kinds.size() == 2);
  CHECK(s.cluster.nodes[0].kind == "a100-40gb");
  CHECK(s.cluster.memory_gib("a100-40gb") == 40);
  CHECK(s.cluster.memory_gib("h100-80gb") == 80);
  CHECK(s.cluster.memory_gib("") == 80);  // device_memory_gib's default, for nodes of no kind

  std::string text = kKindSweep;
  text.replace(text.find("kind: h100-80gb}\n    - {name: h1"), 15, "kind: h100-80g");
  Result<Sweep> bad = ParseSweep(text, "mixed.yaml");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Contains("mixed.yaml:8:") && Contains("unknown kind 'h100-80g'") &&
                                         Contains("did you mean 'h100-80gb'"));

  text = kKindSweep;
  text.replace(text.find("name: h100-80gb,"), 16, "name: a100-40gb,");
  bad = ParseSweep(text, "mixed.yaml");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Contains("mixed.yaml:5:") && Contains("duplicate kind name 'a100-40gb'"));
}

TEST_CASE("profile records per kind: too big for one kind's memory, planned on the other", "[kinds]") {
  const Sweep sweep = KindSweep();
  Result<Instance> inst = Build(sweep, {Record("ddp", 1, "a100-40gb", 1.0, 60), Record("ddp", 1, "h100-80gb", 0.5, 60),
                                        Record("fsdp", 2, "a100-40gb", 0.8, 30)});
  REQUIRE(inst.ok());
  REQUIRE(inst->kinds == std::vector<std::string>{"a100-40gb", "h100-80gb"});
  const PlanJob& j = inst->jobs[0];
  REQUIRE(j.configs.size() == 2);  // ddp x1 on the A100s needs 60 GiB of 40
  std::set<std::pair<std::string, int>> have;
  for (const Config& c : j.configs) {
    have.insert({c.technique, c.kind});
    for (const Placement& p : c.placements)
      for (int n : p.nodes) CHECK(inst->nodes[size_t(n)].kind == c.kind);
  }
  CHECK(have == std::set<std::pair<std::string, int>>{{"ddp", 1}, {"fsdp", 0}});
  REQUIRE(inst->notes.size() == 1);
  CHECK_THAT(inst->notes[0], Contains("p.json:2") && Contains("above kind a100-40gb's device_memory_gib 40"));
  CHECK(LowerBound(*inst) > 0);

  // The same record on two kinds is two records; twice on one kind is refused.
  Result<Instance> twice = Build(sweep, {Record("ddp", 1, "h100-80gb", 0.5, 1), Record("ddp", 1, "h100-80gb", 0.6, 1)});
  REQUIRE_FALSE(twice.ok());
  CHECK_THAT(twice.status().message(), Contains("second record") && Contains("kind 'h100-80gb'"));
  Result<Instance> unknown = Build(sweep, {Record("ddp", 1, "h100-80g", 0.5, 1)});
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.status().message(), Contains("p.json:2") && Contains("did you mean 'h100-80gb'"));
  // A record of no kind serves nodes of no kind, and this cluster has none.
  Result<Instance> none = Build(sweep, {Record("ddp", 1, "", 0.5, 1)});
  REQUIRE_FALSE(none.ok());
  CHECK_THAT(none.status().message(), Contains("no feasible configuration"));
}

TEST_CASE("a job never spans kinds: blocks of whole nodes are of one kind", "[kinds]") {
  // B, A, B: 8 devices on B take nodes 0 and 2; on A, no block of 8 exists.
  Instance inst = KindInstance({{4, 1}, {4, 0}, {4, 1}}, {{{"ddp", 8, 5, 1}, {"ddp", 8, 4, 0}, {"ddp", 4, 9, 0}}});
  const PlanJob& j = inst.jobs[0];
  REQUIRE(j.configs.size() == 2);
  for (const Config& c : j.configs) {
    if (c.devices != 8) continue;
    REQUIRE(c.placements.size() == 1);
    CHECK(c.placements[0].nodes == std::vector<int>{0, 2});
  }
}

TEST_CASE("the bound counts what only some kinds can run, and never passes the optimum", "[kinds]") {
  // Four 10 s jobs that fit only kind 1's one device: 40 s, though two devices make 20 s look possible.
  std::vector<std::vector<C>> only_b(4, std::vector<C>{{"ddp", 1, 10, 1}});
  only_b.push_back({{"ddp", 1, 1, 0}});
  Instance inst = KindInstance({{1, 0}, {1, 1}}, only_b);
  CHECK(LowerBound(inst) == Approx(40));
  CHECK(BruteForceOptimum(inst) == Approx(40));

  std::mt19937 rng(23);
  for (int round = 0; round < 60; ++round) {
    INFO("round " << round);
    const bool three = round % 3 == 2;
    Instance r = three ? RandomKindInstance(rng, {{2, 0}, {1, 1}, {2, 2}}, 3, 3)
                       : RandomKindInstance(rng, {{2, 0}, {2, 1}}, 2, 3 + round % 2);
    const double opt = BruteForceOptimum(r);
    CHECK(LowerBound(r) <= opt + 1e-9);
    for (const Schedule& s : {CurrentPracticeSchedule(r), GreedySchedule(r), UniformSchedule(r), HeuristicSchedule(r),
                              GroupPackSchedule(r, LowerBound(r) * 1.1)}) {
      if (s.jobs.empty()) continue;  // group packing found no lane for a width
      CheckKinds(r, s);
      CHECK(s.makespan() >= opt - 1e-6);
    }
    if (round % 4 == 0) {
      Plan p = RunPolicy(r, "milp");
      CHECK(p.makespan() == Approx(opt).margin(1e-6));
    }
  }
}

TEST_CASE("one width both across nodes and within one: 8 devices are two nodes of 4 on one kind, one node of 8 on "
          "the other",
          "[kinds]") {
  // Longest first: the job across nodes leads the width-8 batch, then the other way round.
  for (double other : {10.0, 30.0}) {
    Instance inst = KindInstance({{4, 0}, {4, 0}, {8, 1}}, {{{"fsdp", 8, 20, 0}}, {{"fsdp", 8, other, 1}}});
    Schedule s = GroupPackSchedule(inst, 100);
    REQUIRE(s.jobs.size() == 2);
    CheckKinds(inst, s);
    CHECK(s.makespan() == Approx(std::max(20.0, other)));
  }
  std::mt19937 rng(41);
  for (int round = 0; round < 30; ++round) {
    INFO("round " << round);
    std::vector<std::vector<C>> jobs;
    for (int j = 0; j < 3; ++j) {
      const double base = 8 + double(rng() % 24);
      std::vector<C> cs;
      for (int k = 0; k < 2; ++k)
        for (int w : {1, 4, 8}) cs.push_back({w == 8 ? "fsdp" : "ddp", w, std::ceil(base / (0.7 * w) + k * (rng() % 5)), k});
      jobs.push_back(cs);
    }
    Instance inst = KindInstance({{4, 0}, {4, 0}, {8, 1}}, jobs);
    const double opt = BruteForceOptimum(inst), lb = LowerBound(inst);
    CHECK(lb <= opt + 1e-9);
    for (double f : {1.0, 1.2, 1.5, 2.0}) {
      Schedule s = GroupPackSchedule(inst, lb * f);
      if (s.jobs.empty()) continue;
      CheckKinds(inst, s);
      CHECK(s.makespan() >= opt - 1e-6);
    }
    if (round % 5 == 0) CHECK(RunPolicy(inst, "milp").makespan() == Approx(opt).margin(1e-6));
  }
}

// Whether a fractional assignment of the jobs to two kinds fits makespan C: each job's least
// device-seconds on each kind among configurations no longer than C; jobs move from kind 0 to
// kind 1 in decreasing order of what they save there per device-second they cost (a fractional
// knapsack, exact for two kinds).
bool FractionalFits(const Instance& inst, double c) {
  double d[2] = {0, 0};
  for (const PlanNode& n : inst.nodes) d[n.kind] += n.devices;
  double load0 = 0, budget1 = d[1] * c;
  std::vector<std::pair<double, double>> movable;  // (area on 0, area on 1)
  for (const PlanJob& j : inst.jobs) {
    double a[2] = {INFINITY, INFINITY};
    for (const Config& cfg : j.configs)
      if (cfg.seconds <= c) a[cfg.kind] = std::min(a[cfg.kind], cfg.seconds * cfg.width());
    if (std::isinf(a[0]) && std::isinf(a[1])) return false;
    if (std::isinf(a[0])) budget1 -= a[1];
    else if (std::isinf(a[1])) load0 += a[0];
    else load0 += a[0], movable.push_back({a[0], a[1]});
  }
  if (budget1 < 0) return false;
  std::sort(movable.begin(), movable.end(), [](const auto& x, const auto& y) { return x.first * y.second > y.first * x.second; });
  for (const auto& [a0, a1] : movable) {
    if (budget1 <= 0) break;
    const double f = std::min(1.0, budget1 / a1);
    load0 -= f * a0, budget1 -= f * a1;
  }
  return load0 <= d[0] * c * (1 + 1e-12);
}

TEST_CASE("with two kinds the bound reaches the fractional assignment's, and never passes it", "[kinds]") {
  std::mt19937 rng(31);
  for (int round = 0; round < 40; ++round) {
    INFO("round " << round);
    Instance inst = RandomKindInstance(rng, {{2, 0}, {2, 0}, {4, 1}}, 2, 10 + int(rng() % 30));
    for (PlanJob& j : inst.jobs)  // off the whole seconds, so ties are rare
      for (Config& c : j.configs) c.seconds *= 1 + double(rng() % 1000) / 7919;
    double lo = 0, hi = 1e6;
    for (int i = 0; i < 200; ++i) (FractionalFits(inst, (lo + hi) / 2) ? hi : lo) = (lo + hi) / 2;
    const double lb = LowerBound(inst);
    CHECK(lb <= hi * (1 + 1e-9));
    CHECK(lb >= hi * 0.99);
  }
}

TEST_CASE("mixing kinds beats the best single kind, and the plan keeps its kinds through JSON", "[kinds]") {
  // Each job: 10 s on kind 0, 15 s on kind 1; one device of each. Alone: 40 s or 60 s; both: 30 s.
  Instance inst = KindInstance({{1, 0}, {1, 1}}, std::vector<std::vector<C>>(4, {{"ddp", 1, 10, 0}, {"ddp", 1, 15, 1}}));
  Plan p = RunPolicy(inst, "milp");
  CHECK(p.makespan() == Approx(30));
  std::set<int> used;
  for (const Assignment& a : p.schedule.jobs) used.insert(inst.jobs[0].configs[size_t(a.config)].kind);
  CHECK(used.size() == 2);
  // Users without a planner send a job to whichever node frees first: here that is 30 s too.
  CHECK(RunPolicy(inst, "current-practice").makespan() == Approx(30));

  const std::string text = PlanToJson(p);
  CHECK_THAT(text, Contains("\"kind\": \"k1\""));
  Result<Plan> back = ParsePlan(text, "plan.json");
  REQUIRE(back.ok());
  CHECK(back->instance.kinds == inst.kinds);
  for (size_t j = 0; j < inst.jobs.size(); ++j) {
    const Config& a = p.instance.jobs[j].configs[size_t(p.schedule.jobs[j].config)];
    const Config& b = back->instance.jobs[j].configs[size_t(back->schedule.jobs[j].config)];
    CHECK(a.kind == b.kind);
    CHECK(a.seconds == b.seconds);
  }
  // A configuration of a kind no node has.
  nlohmann::json tampered = nlohmann::json::parse(text);
  tampered["instance"]["nodes"][1]["kind"] = "k9";
  Result<Plan> refused = ParsePlan(tampered.dump(), "plan.json");
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.status().message(), Contains("node kind 'k1', which no node of the plan has"));

  // One kind: the file names none.
  Instance plain = saturn::testing::MakeInstance({2}, {{{"ddp", 1, 3}}});
  CHECK_THAT(PlanToJson(RunPolicy(plain, "greedy")), !Contains("\"kind\""));
}

TEST_CASE("re-planning keeps a running job on its kind and moves waiting ones across kinds", "[kinds]") {
  Instance inst = KindInstance({{1, 0}, {1, 1}}, std::vector<std::vector<C>>(4, {{"ddp", 1, 10, 0}, {"ddp", 1, 15, 1}}));
  Plan p = RunPolicy(inst, "milp");
  SweepState st;
  st.now = 1;
  int on_b = -1;
  for (int j = 0; j < int(inst.jobs.size()); ++j) {
    const Assignment& a = p.schedule.jobs[size_t(j)];
    JobState js = StateOf(inst, j, a);
    const bool first = a.start < 1e-9;
    js.state = first ? "running" : "waiting";
    js.order = a.start;
    if (first) js.remaining_seconds = inst.jobs[size_t(j)].configs[size_t(a.config)].seconds - 1;
    if (first && inst.jobs[size_t(j)].configs[size_t(a.config)].kind == 1) on_b = j;
    st.jobs.push_back(js);
  }
  REQUIRE(on_b >= 0);
  ReplanOptions opt;
  opt.time_limit_seconds = 2;
  Result<Replanned> r = Replan(inst, st, opt);
  REQUIRE(r.ok());
  CheckKinds(r->plan.instance, r->plan.schedule);
  CHECK(r->new_seconds <= r->kept_seconds + 1e-9);
  bool held = false;
  for (const Reservation& res : r->plan.instance.reserved)
    held = held || (res.job == inst.jobs[size_t(on_b)].name && inst.nodes[size_t(res.node)].kind == 1);
  CHECK(held);
}

TEST_CASE("saturn run refuses a plan whose nodes or jobs the sweep has changed since: kind, devices, name, order, "
          "steps, techniques, device counts, a new job, a job gone", "[kinds]") {
  const Sweep sweep = KindSweep();
  Result<Instance> inst = Build(sweep, {Record("ddp", 1, "a100-40gb", 1, 1), Record("ddp", 1, "h100-80gb", 1, 1)});
  REQUIRE(inst.ok());
  const Plan plan = RunPolicy(*inst, "greedy");
  CHECK(CheckPlanFitsSweep(plan, "plan.json", sweep, "HINT").ok());
  auto refused = [&](std::vector<std::pair<std::string, std::string>> edits) {
    std::string text = kKindSweep;
    for (const auto& [from, to] : edits) {
      REQUIRE(text.find(from) != std::string::npos);
      text.replace(text.find(from), from.size(), to);
    }
    Result<Sweep> edited = ParseSweep(text, "mixed.yaml");
    REQUIRE(edited.ok());
    const Status s = CheckPlanFitsSweep(plan, "plan.json", *edited, "HINT");
    REQUIRE_FALSE(s.ok());
    CHECK(s.exit_code() == 2);
    CHECK_THAT(s.message(), Contains("; plan this sweep again (HINT)"));
    return s.message();
  };
  // The node the plan knows as an H100 is now an A100: its records were measured on the other kind.
  CHECK_THAT(refused({{"{name: h1, devices: 2, kind: h100-80gb}", "{name: h1, devices: 2, kind: a100-40gb}"}}),
             Contains("plan.json: node 'h1' has 2 device(s) of kind 'h100-80gb' in the plan, but mixed.yaml:9:") &&
                 Contains("gives it 2 device(s) of kind 'a100-40gb'"));
  CHECK_THAT(refused({{"{name: a0, devices: 2,", "{name: a0, devices: 4,"}}),
             Contains("node 'a0' has 2 device(s) of kind 'a100-40gb' in the plan, but mixed.yaml:7:") &&
                 Contains("gives it 4 device(s)"));
  CHECK_THAT(refused({{"{name: h0,", "{name: h2,"}}), Contains("node 'h0' is not in the cluster of mixed.yaml"));
  // Inside Slurm, nodes map to the allocation's in order: h0 and h1 swapped is another mapping.
  CHECK_THAT(refused({{"{name: h0,", "{name: hx,"}, {"{name: h1,", "{name: h0,"}, {"{name: hx,", "{name: h1,"}}),
             Contains("node 'h0' is node 2 of the plan, but mixed.yaml:9:") && Contains("makes it node 3 of the cluster"));
  CHECK_THAT(refused({{"    model: m.json\n", "    model: m.json\n    steps: 2000\n"}}),
             Contains("mixed.yaml:11:") && Contains("job 'j' trains 2000 steps, but plan.json planned 1000"));
  CHECK_THAT(refused({{"jobs:\n", "jobs:\n  - {name: k, model: m.json}\n"}}),
             Contains("mixed.yaml:11:") && Contains("job 'k' is not in the plan plan.json"));
  CHECK_THAT(refused({{"  - name: j\n", "  - name: k\n"}}), Contains("plan.json: job 'j' is not in mixed.yaml;"));
  // A re-plan may move j to any configuration the plan holds: each must still be allowed.
  CHECK_THAT(refused({{"techniques: [ddp, fsdp]", "techniques: [fsdp]"}}),
             Contains("mixed.yaml:11:") && Contains("job 'j' no longer allows technique ddp, which plan.json may run it with"));
  CHECK_THAT(refused({{"techniques: [ddp, fsdp]", "techniques: [ddp, fsdp]\n    devices: [2]"}}),
             Contains("job 'j' no longer allows 1 device(s), which plan.json may run it with"));
}
