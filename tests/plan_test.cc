#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "plan/milp.h"
#include "plan/plan.h"
#include "plan/policies.h"
#include "plan/simulate.h"
#include "plan_fixtures.h"

using namespace saturn;
using saturn::testing::BruteForceOptimum;
using saturn::testing::C;
using saturn::testing::MakeInstance;
using saturn::testing::RandomInstance;

namespace {

Plan RunPolicy(const Instance& inst, const std::string& policy, double limit = 20) {
  PlanOptions opt;
  opt.policy = policy;
  opt.time_limit_seconds = limit;
  auto plan = MakePlan(inst, opt);
  REQUIRE(plan.ok());
  REQUIRE(CheckSchedule(inst, plan->schedule).ok());
  REQUIRE(plan->makespan() >= plan->lower_bound - 1e-6);
  return *plan;
}

}  // namespace

TEST_CASE("checker catches a double-booked device", "[plan]") {
  Instance inst = MakeInstance({2}, {{{"ddp", 1, 10}}, {{"ddp", 1, 10}}});
  Schedule s = SerialSchedule(inst, {{0, 0, 0}, {1, 0, 0}});
  REQUIRE(CheckSchedule(inst, s).ok());
  CHECK(s.makespan() == Approx(10));
  s.jobs[1].device_ids = s.jobs[0].device_ids;
  Status st = CheckSchedule(inst, s);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::Contains("two jobs at once"));
  s = SerialSchedule(inst, {{0, 0, 0}, {1, 0, 0}});
  s.jobs[1].end += 1;
  CHECK_FALSE(CheckSchedule(inst, s).ok());
}

TEST_CASE("a job wider than a node takes whole nodes", "[plan]") {
  Instance inst = MakeInstance({4, 4, 4, 4}, {{{"fsdp", 8, 10}}, {{"ddp", 4, 10}}, {{"ddp", 6, 5}}});
  REQUIRE(inst.jobs[0].configs[0].placements.size() == 2);  // nodes {0,1} and {2,3}
  CHECK(inst.jobs[0].configs[0].width() == 8);
  CHECK(inst.jobs[2].configs[0].width() == 8);  // 6 devices still hold two whole nodes
  // Job 2 needs a pair of whole nodes, so it cannot overlap both other jobs: 15 s, not the 10 s
  // that device-seconds alone would allow.
  CHECK(BruteForceOptimum(inst) == Approx(15));
  CHECK(RunPolicy(inst, "milp").makespan() == Approx(15));
}

TEST_CASE("milp finds the brute-force optimum on tiny instances", "[plan]") {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 12; ++trial) {
    bool two_nodes = trial % 3 == 2;
    Instance inst = two_nodes ? RandomInstance(rng, {2, 2}, 3, {1, 2, 4}) : RandomInstance(rng, {4}, 3 + trial % 2, {1, 2, 4});
    double opt = BruteForceOptimum(inst);
    INFO("trial " << trial);
    Plan p = RunPolicy(inst, "milp");
    CHECK(p.makespan() == Approx(opt).margin(1e-6));
    CHECK(p.solver.status == "optimal");
    CHECK(p.lower_bound <= opt + 1e-6);
    for (const char* pol : {"greedy", "uniform", "current-practice"}) CHECK(RunPolicy(inst, pol).makespan() >= opt - 1e-6);
  }
}

TEST_CASE("local search reaches the brute-force optimum from the current-practice plan", "[plan]") {
  std::mt19937 rng(13);
  int improved = 0;
  for (int trial = 0; trial < 12; ++trial) {
    Instance inst = trial % 3 == 0   ? RandomInstance(rng, {4}, 4, {1, 2, 4})
                    : trial % 3 == 1 ? RandomInstance(rng, {2, 2}, 4, {1, 2, 4})
                                     : RandomInstance(rng, {4, 2}, 4, {1, 2, 4, 6});
    INFO("trial " << trial);
    const double opt = BruteForceOptimum(inst);
    Schedule start = CurrentPracticeSchedule(inst);
    Schedule s = LocalSearchSchedule(inst, start, 20000, 1e9);
    REQUIRE(CheckSchedule(inst, s).ok());
    CHECK(s.makespan() == Approx(opt).margin(1e-6));
    if (s.makespan() < start.makespan() - 1e-6) ++improved;
    // The move budget ends it: the same inputs give the same schedule.
    Schedule again = LocalSearchSchedule(inst, start, 20000, 1e9);
    for (size_t j = 0; j < s.jobs.size(); ++j) {
      CHECK(s.jobs[j].config == again.jobs[j].config);
      CHECK(s.jobs[j].placement == again.jobs[j].placement);
      CHECK(s.jobs[j].start == again.jobs[j].start);
    }
  }
  CHECK(improved > 0);  // the starts were not already optimal
}

TEST_CASE("the technique and width are chosen inside the MILP", "[plan]") {
  // Fastest-per-job picks 4 devices and runs the jobs back to back (20 s); two narrower, slower
  // configurations side by side finish at 12 s.
  Instance inst = MakeInstance({4}, {{{"ddp", 4, 10}, {"fsdp", 2, 12}, {"ddp", 2, 13}},
                                     {{"ddp", 4, 10}, {"fsdp", 2, 12}, {"ddp", 2, 13}}});
  CHECK(RunPolicy(inst, "greedy").makespan() == Approx(20));
  Plan p = RunPolicy(inst, "milp");
  CHECK(p.makespan() == Approx(12));
  for (const auto& a : p.schedule.jobs) CHECK(p.instance.jobs[0].configs[a.config].technique == "fsdp");
}

TEST_CASE("the same inputs give the same plan", "[plan]") {
  std::mt19937 rng(11);
  Instance inst = RandomInstance(rng, {4, 4}, 6, {1, 2, 4, 8});
  std::string a = PlanToJson(RunPolicy(inst, "milp")), b = PlanToJson(RunPolicy(inst, "milp"));
  auto strip = [](std::string s) {  // wall time differs
    auto at = s.find("\"seconds\":", s.find("\"solver\""));
    return s.substr(0, at) + s.substr(s.find('\n', at));
  };
  CHECK(strip(a) == strip(b));
}

TEST_CASE("the neighbourhood search improves a large instance and stays valid", "[plan]") {
  std::mt19937 rng(3);
  Instance inst = RandomInstance(rng, {8, 8, 8, 8, 8, 8}, 60, {1, 2, 4, 8, 16});
  Schedule start = HeuristicSchedule(inst);
  REQUIRE(CheckSchedule(inst, start).ok());
  MilpOptions mo;
  mo.time_limit_seconds = 8;
  mo.max_columns = 1000;  // force the decomposition
  mo.neighbourhood_columns = 3000;
  SolverInfo info;
  Schedule s = MilpSchedule(inst, start, mo, &info);
  REQUIRE(CheckSchedule(inst, s).ok());
  CHECK(s.makespan() <= start.makespan() + 1e-6);
  CHECK(info.method.find("LNS") != std::string::npos);
  CHECK(info.subproblems > 0);
}

TEST_CASE("group packing is valid on uneven clusters and exact where lanes tile", "[plan]") {
  std::mt19937 rng(5);
  for (const std::vector<int>& nodes : {std::vector<int>{8, 8, 8, 8}, std::vector<int>{8, 8, 6, 4, 3}}) {
    Instance inst = RandomInstance(rng, nodes, 40, {1, 2, 3, 4, 8, 16});
    const double lb = LowerBound(inst);
    for (double f : {1.0, 1.1, 1.5, 3.0}) {
      Schedule s = GroupPackSchedule(inst, f * lb);
      REQUIRE(s.jobs.size() == inst.jobs.size());
      REQUIRE(CheckSchedule(inst, s).ok());
      CHECK(s.makespan() >= lb - 1e-9);
    }
    CHECK(HeuristicSchedule(inst).makespan() <= GroupPackSchedule(inst, 1.2 * lb).makespan() + 1e-9);
  }
  // 2 nodes of 4: four jobs of width 2 for 10 s, eight of width 1 for 5 s, each also runnable
  // faster but wider. Within a 15 s target the least-area choices tile both nodes exactly; list
  // scheduling longest-first at the fastest configuration does not.
  std::vector<std::vector<C>> jobs;
  for (int j = 0; j < 4; ++j) jobs.push_back({{"ddp", 2, 10}, {"ddp", 4, 6}});
  for (int j = 0; j < 8; ++j) jobs.push_back({{"ddp", 1, 5}, {"ddp", 2, 3}});
  Instance inst = MakeInstance({4, 4}, jobs);
  CHECK(LowerBound(inst) == Approx(15));
  Schedule s = GroupPackSchedule(inst, 15);
  REQUIRE(CheckSchedule(inst, s).ok());
  CHECK(s.makespan() == Approx(15));
  CHECK(RunPolicy(inst, "milp", 5).makespan() == Approx(15));
}

// The packer's answer by brute force: the first of `from` and every interval end after it at
// which each node of the placement has room at that time and at every interval start inside.
struct Busy {
  int node;
  double start, end;
  int use;
};
double NaiveEarliestStart(const Instance& inst, const std::vector<Busy>& busy, const Placement& p, double seconds,
                          double from) {
  std::vector<double> cands = {from};
  for (const Busy& b : busy)
    if (b.end > from) cands.push_back(b.end);
  std::sort(cands.begin(), cands.end());
  auto load = [&](int node, double t) {
    int l = 0;
    for (const Busy& b : busy)
      if (b.node == node && b.start <= t && t < b.end) l += b.use;
    return l;
  };
  for (double t : cands) {
    bool ok = true;
    for (size_t k = 0; k < p.nodes.size() && ok; ++k) {
      const int cap = inst.nodes[p.nodes[k]].devices - p.use[k];
      ok = load(p.nodes[k], t) <= cap;
      for (const Busy& b : busy)
        if (ok && b.node == p.nodes[k] && b.start > t && b.start < t + seconds) ok = load(p.nodes[k], b.start) <= cap;
    }
    if (ok) return t;
  }
  return INFINITY;
}

TEST_CASE("the packer finds the earliest start that brute force finds, on one node and across nodes", "[plan]") {
  std::mt19937 rng(23);
  Instance inst = MakeInstance({4, 4, 4}, {});
  for (int round = 0; round < 300; ++round) {
    INFO("round " << round);
    Packer packer(inst);
    std::vector<Busy> busy;
    const int n = 1 + int(rng() % 25);
    for (int i = 0; i < n; ++i) {
      // Whole seconds: starts and ends meet exactly, as back-to-back jobs do.
      Busy b{int(rng() % 3), double(rng() % 40), 0, 1 + int(rng() % 2)};
      b.end = b.start + 1 + double(rng() % 12);
      // Blocks may exceed a node's devices together: the packer is asked, not trusted, here.
      packer.Block(b.node, b.start, b.end, b.use);
      busy.push_back(b);
    }
    for (int q = 0; q < 10; ++q) {
      Placement p;
      if (rng() % 3 == 0) p = {{0, 1}, {4, 4}};
      else p = {{int(rng() % 3)}, {1 + int(rng() % 4)}};
      const double seconds = 1 + double(rng() % 10), from = double(rng() % 30);
      INFO("query " << q);
      CHECK(packer.EarliestStart(p, seconds, from) == NaiveEarliestStart(inst, busy, p, seconds, from));
      CHECK(packer.StartBound(p) <= packer.EarliestStart(p, seconds, 0));
    }
  }
}

TEST_CASE("the packer starts a job within kEps of the step that frees its devices, however close the steps", "[plan]") {
  // A full step of 1e-6 s, then one of 1e-6 s more: a start at 2e-6 reads the load at 3e-6
  // (free). Skipping to the first step with room, at 3e-6, would start a step late.
  Instance inst = MakeInstance({1}, {});
  Packer packer(inst);
  packer.Block(0, 0, 2e-6, 1);
  packer.Block(0, 2e-6, 3e-6, 1);
  const Placement p{{0}, {1}};
  CHECK(packer.EarliestStart(p, 10, 0) == 2e-6);
  CHECK(packer.StartBound(p) <= 2e-6);
}

// The rule EarliestPlacement is defined by (plan/schedule.h), every option's finish computed.
Choice PlainEarliestPlacement(const Instance& inst, const Packer& packer, int j, int config, double* finish) {
  const PlanJob& job = inst.jobs[size_t(j)];
  Choice best{j, config, -1};
  *finish = INFINITY;
  job.ForAlike(config, [&](int ci) {
    const Config& c = job.configs[size_t(ci)];
    for (int p = 0; p < int(c.placements.size()); ++p) {
      const double f = packer.EarliestStart(c.placements[size_t(p)], c.seconds) + c.seconds;
      if (f < *finish - 1e-9) *finish = f, best.config = ci, best.placement = p;
    }
  });
  return best;
}

TEST_CASE("the earliest placement skips options without changing the choice, near-ties and node kinds included",
          "[plan]") {
  std::mt19937 rng(29);
  // Six nodes of 4 devices, two kinds; every configuration alike on both kinds, 8 devices span two nodes.
  std::vector<std::vector<C>> jobs;
  for (int j = 0; j < 4; ++j) {
    std::vector<C> cs;
    for (int w : {1, 2, 4, 8})
      for (int kind : {0, 1}) cs.push_back({"ddp", w, double(2 + (j + w + kind) % 7), kind});
    jobs.push_back(cs);
  }
  Instance inst = MakeInstance({4, 4, 4, 4, 4, 4}, jobs, {0, 0, 0, 1, 1, 1});
  int compared = 0, ties = 0;
  for (int round = 0; round < 400; ++round) {
    INFO("round " << round);
    Packer packer(inst);
    // Ends a few 1e-9 s apart: finishes that differ by less than the rule's 1e-9, or just more.
    const int n = int(rng() % 30);
    for (int i = 0; i < n; ++i) {
      const double start = double(rng() % 20) + 0.7e-9 * double(rng() % 5);
      packer.Block(int(rng() % 6), start, start + 1 + double(rng() % 9) + 0.7e-9 * double(rng() % 5), 1 + int(rng() % 4));
    }
    for (int j = 0; j < int(inst.jobs.size()); ++j)
      for (int c = 0; c < int(inst.jobs[size_t(j)].configs.size()); ++c) {
        double fast = 0, plain = 0;
        const Choice a = EarliestPlacement(inst, packer, j, c, &fast), b = PlainEarliestPlacement(inst, packer, j, c, &plain);
        INFO("job " << j << " config " << c);
        CHECK(a.config == b.config);
        CHECK(a.placement == b.placement);
        CHECK(fast == plain);
        ++compared;
        // How often another option finished within 1e-9 of the choice: the rule's order decided.
        const PlanJob& job = inst.jobs[size_t(j)];
        int near = 0;
        job.ForAlike(c, [&](int ci) {
          for (const Placement& p : job.configs[size_t(ci)].placements)
            near += std::fabs(packer.EarliestStart(p, job.configs[size_t(ci)].seconds) + job.configs[size_t(ci)].seconds - plain) < 1e-9;
        });
        ties += near > 1;
      }
  }
  CHECK(compared == 400 * 32);
  CHECK(ties > 1000);  // the tie-breaking was exercised, not only clear winners
}

// LowerBound's definition, evaluated directly at one C: each job has a configuration no longer
// than C, C covers every reservation, and the least device-seconds fit devices x C.
bool BoundHoldsAt(const Instance& inst, double c) {
  double area = 0;
  int devices = inst.total_devices();
  for (const Reservation& r : inst.reserved) {
    if (r.out_of_use) {
      devices -= int(r.device_ids.size());
      continue;
    }
    if (r.until > c) return false;
    area += r.until * double(r.device_ids.size());
  }
  for (const PlanJob& j : inst.jobs) {
    double least = INFINITY;
    for (const Config& cfg : j.configs)
      if (cfg.seconds <= c) least = std::min(least, cfg.seconds * cfg.width());
    if (std::isinf(least)) return false;
    area += least;
  }
  return area <= double(devices) * c * (1 + 1e-12);
}

TEST_CASE("the lower bound is the least makespan its definition allows, with reservations and devices out of use",
          "[plan]") {
  std::mt19937 rng(17);
  for (int round = 0; round < 200; ++round) {
    INFO("round " << round);
    const std::vector<int> nodes = round % 3 == 0 ? std::vector<int>{8, 8} : std::vector<int>{4, 4, 2};
    Instance inst = RandomInstance(rng, nodes, 1 + int(rng() % 30), {1, 2, 4, 8});
    for (PlanJob& j : inst.jobs)  // durations off the whole seconds, so ties are rare
      for (Config& c : j.configs) c.seconds *= 1 + double(rng() % 1000) / 7919;
    if (round % 2)
      inst.reserved.push_back({"running", "ddp", 1, 0, {int(rng() % 4)}, double(rng() % 40)});
    if (round % 5 == 0) inst.reserved.push_back({"", "", 0, 1, {1}, kForever, true});
    const double lb = LowerBound(inst);
    REQUIRE(std::isfinite(lb));
    CHECK(BoundHoldsAt(inst, lb));
    CHECK_FALSE(BoundHoldsAt(inst, lb * (1 - 1e-9)));
  }
}

TEST_CASE("a plan survives a JSON round trip and a tampered plan is refused", "[plan]") {
  std::mt19937 rng(5);
  Instance inst = RandomInstance(rng, {4, 4}, 5, {1, 2, 4, 8});
  Plan p = RunPolicy(inst, "milp");
  std::string text = PlanToJson(p);
  auto back = ParsePlan(text, "plan.json");
  REQUIRE(back.ok());
  CHECK(PlanToJson(*back) == text);
  // Start every job at 0: something must then collide.
  std::string bad = text;
  for (size_t at = bad.find("\"start_seconds\":"); at != std::string::npos; at = bad.find("\"start_seconds\":", at + 1)) {
    size_t v = at + 16, e = bad.find_first_of(",\n}", v);
    bad.replace(v, e - v, " 0.0");
  }
  auto refused = ParsePlan(bad, "plan.json");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().exit_code() == 2);

  // Values that size or index something are checked (the fuzzer found a configuration wider
  // than the cluster reaching an empty placement list).
  const nlohmann::json doc = nlohmann::json::parse(text);
  auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json d = doc;
    edit(d);
    auto r = ParsePlan(d.dump(), "plan.json");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().exit_code() == 2);
    return r.status().message();
  };
  CHECK_THAT(edited([](nlohmann::json& d) { d["instance"]["config_sets"][0][0]["devices"] = 17; }),
             Catch::Contains("does not fit the plan's nodes"));
  CHECK_THAT(edited([](nlohmann::json& d) { d["instance"]["nodes"][0]["devices"] = 1e10; }),
             Catch::Contains("devices must be an integer in [1, 4096]"));
  CHECK_THAT(edited([](nlohmann::json& d) { d["instance"]["jobs"][0]["steps"] = -3; }),
             Catch::Contains("steps must be an integer"));
  CHECK_THAT(edited([](nlohmann::json& d) { d["jobs"][0]["start_seconds"] = -1.0; }),
             Catch::Contains("start_seconds must be a finite number"));
  CHECK_THAT(edited([](nlohmann::json& d) { d["instance"]["config_sets"][0][0]["technique"] = "zero"; }),
             Catch::Contains("unknown technique 'zero'"));
  CHECK_THAT(edited([](nlohmann::json& d) { d["instance"]["nodes"][1]["name"] = d["instance"]["nodes"][0]["name"]; }),
             Catch::Contains("repeated"));
  CHECK_THAT(edited([](nlohmann::json& d) { d["instance"]["jobs"][0]["config_set"] = 99; }),
             Catch::Contains("config_set must be an integer in [0, "));
  CHECK_THAT(edited([](nlohmann::json& d) { d["instance"]["jobs"][0]["steps"] = 1LL << 49; }),
             Catch::Contains("step_seconds x steps is past 1e12 seconds"));
}

TEST_CASE("the plan file shares a configuration set among jobs of one cost key", "[plan]") {
  // Five jobs, two of them alike and one alike but twice as long: two sets, durations from steps.
  const std::vector<C> a = {{"ddp", 1, 10}, {"fsdp", 2, 6}}, b = {{"ddp", 1, 7}};
  Instance inst = MakeInstance({2}, {a, a, b, a, b});
  inst.jobs[2].steps = 2;  // step_seconds x steps: 14 s on one device
  inst.jobs[2].configs[0].seconds = 14;
  Plan p = RunPolicy(inst, "greedy");
  const nlohmann::json doc = nlohmann::json::parse(PlanToJson(p));
  REQUIRE(doc["instance"]["config_sets"].size() == 2);
  CHECK(doc["instance"]["jobs"][2]["config_set"] == doc["instance"]["jobs"][4]["config_set"]);
  CHECK(doc["instance"]["jobs"][0]["config_set"] == doc["instance"]["jobs"][3]["config_set"]);
  Result<Plan> back = ParsePlan(doc.dump(), "plan.json");
  REQUIRE(back.ok());
  CHECK(back->instance.jobs[2].configs[0].seconds == 14);
  CHECK(back->instance.jobs[4].configs[0].seconds == 7);
  CHECK(PlanToJson(*back) == PlanToJson(p));
  // A duration that is not step_seconds x steps (a re-plan's) is written out with the job.
  inst.jobs[1].configs[0].seconds = 9;
  const nlohmann::json own = nlohmann::json::parse(PlanToJson(RunPolicy(inst, "greedy")));
  CHECK(own["instance"]["jobs"][1]["configs"][0]["seconds"] == 9);
  CHECK(!own["instance"]["jobs"][1].contains("config_set"));
}

namespace {

// The plan both simulation cases replay (solved once), and options for one trial without noise.
const Plan& SimulatedPlan() {
  static const Plan plan = [] {
    std::mt19937 rng(9);
    return RunPolicy(RandomInstance(rng, {4, 4}, 8, {1, 2, 4}), "milp");
  }();
  return plan;
}

SimOptions OneNoiselessTrial() {
  SimOptions o;
  o.noise = 0;
  o.trials = 1;
  return o;
}

}  // namespace

TEST_CASE("simulation without noise replays the plan / seeds are reproducible", "[plan]") {
  const Plan& p = SimulatedPlan();
  SimOptions o = OneNoiselessTrial();
  SimReport r = Simulate(p, o);
  CHECK(r.trials[0].as_planned <= p.makespan() + 1e-6);
  CHECK(r.trials[0].as_planned >= p.lower_bound - 1e-6);
  CHECK(r.trials[0].replanned >= p.lower_bound - 1e-6);
  CHECK(r.trials[0].replanned <= p.makespan() + 1e-6);  // without noise a re-plan is adopted only if it gains
  o.noise = 0.2;
  o.trials = 5;
  std::vector<int> told;
  double last = 0;
  o.on_trial = [&](int done, double seconds) {
    told.push_back(done);
    CHECK(seconds >= (done == 1 ? 0 : last));  // time since the run started
    last = seconds;
  };
  SimReport a = Simulate(p, o), b = Simulate(p, o);
  CHECK(told == std::vector<int>{1, 2, 3, 4, 5, 1, 2, 3, 4, 5});  // after each trial of both runs
  CHECK(a.mean_as_planned() == b.mean_as_planned());
  CHECK(a.mean_replanned() == b.mean_replanned());
  o.seed = 2;
  CHECK(Simulate(p, o).mean_as_planned() != a.mean_as_planned());
}

TEST_CASE("a simulated trial's re-plans search within the search budget", "[plan]") {
  std::mt19937 rng(31);
  Plan p = RunPolicy(RandomInstance(rng, {4, 4}, 24, {1, 2, 4}), "greedy");
  SimOptions o;
  o.trials = 3;
  o.noise = 0.3;
  SimReport full = Simulate(p, o);
  CHECK(full.searched_share() == 1);
  for (const SimTrial& t : full.trials) CHECK((t.replans > 0 && t.searched == t.wanted));
  for (double budget : {20000.0, 0.0}) {
    INFO("budget " << budget);
    o.search_budget = budget;
    SimReport thin = Simulate(p, o);
    CHECK(thin.searched_share() < 1);
    for (size_t k = 0; k < thin.trials.size(); ++k) {
      const SimTrial& t = thin.trials[k];
      CHECK(t.searched <= budget);
      CHECK(t.replans > 0);
      CHECK(t.as_planned == full.trials[k].as_planned);  // the same draws
      CHECK(t.replanned > 0);
    }
    if (budget > 0) CHECK(thin.searched_share() > 0);
  }
}

TEST_CASE("simulated crashes: each job run again from its start, and re-planning around them", "[plan]") {
  const Plan& p = SimulatedPlan();
  SimOptions o = OneNoiselessTrial();
  o.failures = 1;  // every job crashes once
  SimReport r = Simulate(p, o);
  // Each job takes between once and twice its time, in the plan's order on its devices.
  CHECK(r.trials[0].as_planned > p.makespan() + 1e-6);
  CHECK(r.trials[0].as_planned <= 2 * p.makespan() + 1e-6);
  CHECK(r.trials[0].replanned > p.lower_bound);
  CHECK(r.trials[0].replanned <= 2 * p.makespan() + 1e-6);
  // A lone job on one device: its crash costs exactly the share of its run it had done.
  Instance one = MakeInstance({1}, {{{"ddp", 1, 100}}});
  Plan q = RunPolicy(one, "milp");
  SimReport c = Simulate(q, o);
  CHECK(c.trials[0].as_planned > 100);
  CHECK(c.trials[0].as_planned == Approx(c.trials[0].replanned));
  o.failures = 0;
  CHECK(Simulate(q, o).trials[0].as_planned == Approx(100));
}

TEST_CASE("bounds from rounded-down grids never exceed the true optimum", "[plan]") {
  // Durations that no grid unit divides: the MILP works on inexact grids and proves its lower
  // bound on rounded-down ones.
  std::mt19937 rng(21);
  for (int trial = 0; trial < 4; ++trial) {
    Instance inst = RandomInstance(rng, {4}, 4, {1, 2, 4});
    for (auto& j : inst.jobs)
      for (auto& c : j.configs) c.seconds *= 1.00012371 + 0.0313 * (rng() % 7);
    for (auto& j : inst.jobs) OrderConfigs(&j);
    double opt = BruteForceOptimum(inst);
    INFO("trial " << trial);
    Plan p = RunPolicy(inst, "milp", 4);
    CHECK(p.solver.status != "optimal");  // no exact grid here
    CHECK(p.lower_bound <= opt + 1e-6);
    CHECK(p.solver.best_bound <= opt + 1e-6);
    CHECK(p.makespan() >= opt - 1e-6);
  }
}

TEST_CASE("the Gantt chart of a large cluster: a band per node, its height independent of devices, times at the top too",
          "[plan]") {
  // 40 nodes of 8 devices: past the per-device view (256 devices), one band of 40 px a node.
  // 81 jobs: past the legend's 80, so the height is the bands' and the axes'.
  std::vector<std::vector<C>> jobs(81, std::vector<C>{{"ddp", 8, 10}});
  Instance inst = MakeInstance(std::vector<int>(40, 8), jobs);
  const std::string svg = PlanSvg(RunPolicy(inst, "greedy"));
  CHECK_THAT(svg, Catch::Contains("height=\"1680\"") && Catch::Contains(">node39 (8 devices)</text>") &&
                      !Catch::Contains(" / 7"));
  // The time axis under the last band and above the first: "30.0s" (the makespan: 3 rounds) twice.
  size_t n = 0;
  for (size_t at = svg.find(">30.0s<"); at != std::string::npos; at = svg.find(">30.0s<", at + 1)) ++n;
  CHECK(n == 2);
  // A small chart keeps one axis, under its rows.
  const std::string small = PlanSvg(RunPolicy(MakeInstance({2}, {{{"ddp", 1, 10}}, {{"ddp", 1, 10}}}), "greedy"));
  CHECK(small.find(">10.0s<") == small.rfind(">10.0s<"));
}

TEST_CASE("a CBC process out of memory costs its model and not the plan", "[plan]") {
  std::mt19937 rng(11);
  Instance inst = RandomInstance(rng, {4, 4}, 6, {1, 2, 4, 8});
  Schedule start = HeuristicSchedule(inst);
  MilpOptions mo;
  // Proving takes about a second here; the limit is for a loaded CI machine (it fails this
  // REQUIRE at 5 s when the machine is building besides).
  mo.time_limit_seconds = 60;
  SolverInfo roomy, starved;
  Schedule solved = MilpSchedule(inst, start, mo, &roomy);
  REQUIRE(CheckSchedule(inst, solved).ok());
  REQUIRE(roomy.status == "optimal");  // with room, CBC proves this instance
  mo.time_limit_seconds = 5;
  mo.cbc_memory_mb = 0;  // no allocation past what the process inherits: every model is dropped
  Schedule kept = MilpSchedule(inst, start, mo, &starved);
  REQUIRE(CheckSchedule(inst, kept).ok());
  CHECK(kept.makespan() == start.makespan());
  CHECK(starved.status != "optimal");
  CHECK(starved.best_bound < roomy.best_bound);  // only the area bound: no model proved more
}
