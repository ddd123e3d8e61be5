// What a plan minimizes: `--objective makespan` or `mean-completion` (priority-weighted mean of
// end times), priorities as weights and tie-breaks, deadlines met first. Checked against brute
// force on small instances, and on instances whose makespan-best and mean-best plans differ.
#include <cmath>
#include <random>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "plan/objective.h"
#include "plan/plan.h"
#include "plan/policies.h"
#include "plan/replan.h"
#include "plan_fixtures.h"

using namespace saturn;
using saturn::testing::BruteForceMin;
using saturn::testing::C;
using saturn::testing::MakeInstance;

namespace {

Plan PlanWith(Instance inst, const std::string& objective, const std::string& policy = "milp", double limit = 10) {
  inst.objective = objective;
  PlanOptions opt;
  opt.policy = policy;
  opt.time_limit_seconds = limit;
  Result<Plan> plan = MakePlan(inst, opt);
  REQUIRE(plan.ok());
  REQUIRE(CheckSchedule(plan->instance, plan->schedule).ok());
  CHECK(plan->makespan() >= plan->lower_bound - 1e-6);
  CHECK(plan->solver.objective == Approx(ObjectiveValue(plan->instance, plan->schedule)));
  CHECK(plan->solver.objective >= plan->solver.best_bound - 1e-6);
  return *plan;
}

// One node of two devices. A runs on both in 60 s or on one in 100 s; B and C take one device
// for 50 s. Least makespan: A alone on one device beside B then C (100 s; ends 100, 50, 100:
// mean 83.3 s). Least mean: B and C together first, then A on both (ends 110, 50, 50: 70 s).
Instance Conflict() {
  return MakeInstance({2}, {{{"ddp", 2, 60}, {"ddp", 1, 100}}, {{"ddp", 1, 50}}, {{"ddp", 1, 50}}});
}

double EndOf(const Plan& p, const std::string& job) {
  for (size_t j = 0; j < p.instance.jobs.size(); ++j)
    if (p.instance.jobs[j].name == job) return p.schedule.jobs[j].end;
  FAIL("no job " << job);
  return 0;
}

}  // namespace

TEST_CASE("objective names: makespan and mean-completion, others refused with a suggestion", "[objective]") {
  CHECK(CheckObjective("makespan").ok());
  CHECK(CheckObjective("mean-completion").ok());
  Status bad = CheckObjective("mean-completon");
  REQUIRE(!bad.ok());
  CHECK_THAT(bad.message(), Catch::Contains("did you mean 'mean-completion'"));
}

TEST_CASE("mean-completion and makespan choose different plans where they disagree", "[objective]") {
  Plan ms = PlanWith(Conflict(), "makespan");
  CHECK(ms.makespan() == Approx(100));
  CHECK(MeanCompletion(ms.instance, ms.schedule) == Approx(250.0 / 3));
  Plan mean = PlanWith(Conflict(), "mean-completion");
  CHECK(mean.solver.objective == Approx(70));
  CHECK(mean.makespan() == Approx(110));
  CHECK(mean.solver.best_bound <= 70 + 1e-6);
  CHECK(mean.solver.best_bound > 0);
}

TEST_CASE("the mean-completion bound holds against brute force, and milp reaches the optimum", "[objective]") {
  std::mt19937 rng(7);
  int at_optimum = 0, runs = 0;
  double worst_bound_ratio = 1;
  for (int trial = 0; trial < 40; ++trial) {
    // One node; two nodes; two nodes and a width that spans both (three jobs: brute force).
    const std::vector<int> nodes = trial % 3 ? std::vector<int>{2, 2} : std::vector<int>{4};
    const std::vector<int> widths = trial % 3 == 2 ? std::vector<int>{1, 2, 4} : std::vector<int>{1, 2};
    Instance inst = saturn::testing::RandomInstance(rng, nodes, trial % 3 == 2 ? 3 : 3 + trial % 2, widths);
    inst.objective = "mean-completion";
    for (PlanJob& j : inst.jobs) j.weight = 1 + double(rng() % 4);
    const double optimum = BruteForceMin(inst, [&](const Schedule& s) { return MeanCompletion(inst, s); });
    const double bound = MeanCompletionBound(inst);
    INFO("trial " << trial << ": optimum " << optimum << ", bound " << bound);
    REQUIRE(bound <= optimum + 1e-6);
    worst_bound_ratio = std::max(worst_bound_ratio, optimum / bound);
    Plan p = PlanWith(inst, "mean-completion", "milp", 5);
    CHECK(p.solver.objective >= optimum - 1e-6);
    at_optimum += p.solver.objective <= optimum + 1e-6;
    ++runs;
    // Baselines are scored under the instance's objective too.
    Plan greedy = PlanWith(inst, "mean-completion", "greedy");
    CHECK(greedy.solver.objective >= optimum - 1e-6);
  }
  // The search is exact on most of these small instances (measured: 40 of 40).
  CHECK(at_optimum >= runs * 9 / 10);
  // The bound is not vacuous (measured: optimum / bound at most 1.22 here).
  CHECK(worst_bound_ratio < 2.0);
}

TEST_CASE("scores compare deadlines first, then the objective, and adopting never lengthens a plan", "[objective]") {
  const Score meets{0, 100, 5}, misses{10, 90, 5}, longer{0, 100 + 1e-5, 1}, shorter{0, 99, 9};
  CHECK(Better(meets, misses));   // a deadline met outweighs a shorter plan
  CHECK(Gains(meets, misses, 50));
  CHECK(!Gains(misses, meets, 0));
  CHECK(NoWorse(longer, meets));  // within the search's tolerance: a plateau it may walk
  CHECK(!Better(longer, meets));  // but never adopted as better
  CHECK(Better(shorter, meets));
  CHECK(Gains(shorter, meets, 1));
  CHECK(!Gains(shorter, meets, 1.5));  // a re-plan must gain its threshold
}

TEST_CASE("priorities: the weight of a job's end under mean-completion, the tie-break under makespan", "[objective]") {
  // One device: X takes 10 s, Y 20 s. Unweighted, X goes first (Smith's rule); with Y's priority
  // 5, Y goes first under mean-completion, and under makespan too (30 s either way).
  Instance inst = MakeInstance({1}, {{{"ddp", 1, 10}}, {{"ddp", 1, 20}}});
  Plan plain = PlanWith(inst, "mean-completion");
  CHECK(EndOf(plain, "job0") == Approx(10));
  inst.jobs[1].weight = 5;
  Plan heavy = PlanWith(inst, "mean-completion");
  CHECK(EndOf(heavy, "job1") == Approx(20));
  CHECK(heavy.solver.objective == Approx((5 * 20 + 30) / 6.0));
  Plan tie = PlanWith(inst, "makespan");
  CHECK(tie.makespan() == Approx(30));
  CHECK(EndOf(tie, "job1") == Approx(20));
  // Two devices: C (20 s) on one, A and B (10 s each) one after the other on the other; the
  // makespan is 20 s either way. Listed longest first, A goes before B; B's priority turns it.
  Instance three = MakeInstance({2}, {{{"ddp", 1, 20}}, {{"ddp", 1, 10}}, {{"ddp", 1, 10}}});
  CHECK(EndOf(PlanWith(three, "makespan"), "job1") == Approx(10));
  three.jobs[2].weight = 5;
  Plan turned = PlanWith(three, "makespan");
  CHECK(turned.makespan() == Approx(20));
  CHECK(EndOf(turned, "job2") == Approx(10));
}

TEST_CASE("deadlines come first under both objectives, and a miss is said, never hidden", "[objective]") {
  // B and C must end by 50 s: both run first, side by side, and A follows on both devices
  // (110 s), though without deadlines the least makespan is 100 s.
  Instance inst = Conflict();
  inst.jobs[1].deadline = inst.jobs[2].deadline = 50;
  for (const char* objective : {"makespan", "mean-completion"}) {
    INFO(objective);
    Plan p = PlanWith(inst, objective);
    CHECK(MissedDeadlines(p.instance, p.schedule).empty());
    CHECK(EndOf(p, "job1") <= 50 + 1e-6);
    CHECK(EndOf(p, "job2") <= 50 + 1e-6);
    CHECK(p.makespan() == Approx(110));
  }
  // One device, two 50 s jobs due at 50 s: one must miss, by 50 s, and the table says which.
  Instance tight = MakeInstance({1}, {{{"ddp", 1, 50}}, {{"ddp", 1, 50}}});
  tight.jobs[0].deadline = tight.jobs[1].deadline = 50;
  Plan p = PlanWith(tight, "makespan");
  const std::vector<std::string> missed = MissedDeadlines(p.instance, p.schedule);
  REQUIRE(missed.size() == 1);
  CHECK_THAT(missed[0], Catch::Contains("past its deadline"));
  CHECK_THAT(PlanTable(p), Catch::Contains("deadline missed: " + missed[0]));
}

TEST_CASE("the plan file keeps the objective, priorities and deadlines", "[objective]") {
  Instance inst = Conflict();
  inst.jobs[0].weight = 2.5;
  inst.jobs[1].deadline = 50;
  Plan p = PlanWith(inst, "mean-completion");
  Result<Plan> back = ParsePlan(PlanToJson(p), "plan.json");
  REQUIRE(back.ok());
  CHECK(back->instance.objective == "mean-completion");
  CHECK(back->instance.jobs[0].weight == 2.5);
  CHECK(back->instance.jobs[1].deadline == 50);
  CHECK(std::isinf(back->instance.jobs[2].deadline));
  CHECK(back->solver.objective == Approx(p.solver.objective));
  // A plan without the key is a makespan plan; an unknown objective is refused.
  std::string text = PlanToJson(PlanWith(Conflict(), "makespan"));
  nlohmann::json old = nlohmann::json::parse(text);
  old.erase("objective");
  Result<Plan> before = ParsePlan(old.dump(), "old.json");
  REQUIRE(before.ok());
  CHECK(before->instance.objective == "makespan");
  const std::string key = "\"objective\": \"makespan\"";
  REQUIRE(text.find(key) != std::string::npos);
  text.replace(text.find(key), key.size(), "\"objective\": \"fastest\"");
  Result<Plan> bad = ParsePlan(text, "p.json");
  REQUIRE(!bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("objective 'fastest'"));
}
