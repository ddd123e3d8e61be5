// Re-planning a running sweep (plan/replan.h): running jobs stay where they are, waiting jobs move
// to devices that free early, the result is never predicted to end later than keeping the plan,
// and `saturn plan --from-state` does the same from a file.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "cli_util.h"
#include "plan/plan.h"
#include "plan/policies.h"
#include "plan/replan.h"
#include "run/background_replan.h"
#include "plan_fixtures.h"
#include "util/files.h"

using namespace saturn;
using saturn::testing::C;
using saturn::testing::MakeInstance;
using saturn::testing::RandomInstance;
namespace fs = std::filesystem;

namespace {

JobState Running(const std::string& job, int device, double remaining) {
  JobState s;
  s.job = job, s.state = "running", s.technique = "ddp", s.devices = 1;
  s.placement = {{"node0", {device}}};
  s.remaining_seconds = remaining;
  return s;
}

JobState Waiting(const std::string& job, int device, double order) {
  JobState s = Running(job, device, 0);
  s.state = "waiting";
  s.remaining_seconds = 0;
  s.order = order;
  return s;
}

JobState Finished(const std::string& job) {
  JobState s;
  s.job = job, s.state = "finished";
  return s;
}

// Four 10 s jobs planned two by two on two devices: job0 then job2 on device 0, job1 then job3 on
// device 1. At 10 s job1 has finished and job3 runs on device 1, but job0 turned out slow: 20 s
// are left of it. Kept, job2 waits for device 0 until 30 s and ends at 40 s; re-planned it
// follows job3 on device 1 and ends at 30 s.
Instance FourJobs() { return MakeInstance({2}, {{{"ddp", 1, 10}}, {{"ddp", 1, 10}}, {{"ddp", 1, 10}}, {{"ddp", 1, 10}}}); }

SweepState SlowFirstJob() {
  SweepState s;
  s.plan = "plan.json";
  s.now = 10;
  s.jobs = {Running("job0", 0, 20), Finished("job1"), Waiting("job2", 0, 10), Running("job3", 1, 10)};
  return s;
}

// A moment `now` of `plan`'s execution: jobs it ends before are finished, jobs it runs across are
// running (early or late: a random share of their time left), the rest wait in planned order.
SweepState StateAt(const Instance& inst, const Schedule& plan, double now, std::mt19937& rng) {
  SweepState s;
  s.now = now;
  for (size_t j = 0; j < inst.jobs.size(); ++j) {
    const Assignment& a = plan.jobs[j];
    JobState js = StateOf(inst, int(j), a);
    if (a.end <= now) {
      js.state = "finished";
    } else if (a.start <= now) {
      js.state = "running";
      js.remaining_seconds = (a.end - now) * (0.3 + double(rng() % 200) / 100);
    } else {
      js.state = "waiting";
      js.order = a.start;
    }
    s.jobs.push_back(js);
  }
  return s;
}

// On one node of `devices`: job0 of 100 steps, 1 s a step on one device or 0.4 s on two, and
// `others` jobs of 10 s on one device.
Instance WithMovable(int devices, int others) {
  std::vector<std::vector<C>> jobs = {{{"ddp", 1, 1}, {"ddp", 2, 0.4}}};
  jobs.resize(size_t(1 + others), {{"ddp", 1, 10}});
  Instance inst = MakeInstance({devices}, jobs);
  inst.jobs[0].steps = 100;
  for (Config& c : inst.jobs[0].configs) c.seconds = c.step_seconds * 100;
  return inst;
}

// job0 of WithMovable running ddp x1 on device 0 with 90 of its 100 steps (90 s) left, movable:
// its stop takes 1 s, and a launch 4 s until it trains again.
JobState MovableJob0() {
  JobState run = Running("job0", 0, 90);
  run.movable = true, run.remaining_fraction = 0.9, run.stop_seconds = 1, run.restart_seconds = 4;
  return run;
}

}  // namespace

TEST_CASE("re-planning keeps running jobs where they are and moves a waiting job to a device that freed early",
          "[replan]") {
  const Instance inst = FourJobs();
  Result<Replanned> r = Replan(inst, SlowFirstJob(), ReplanOptions());
  REQUIRE(r.ok());
  CHECK(r->kept_seconds == Approx(30));  // job2 on device 0 from 20 s after now
  CHECK(r->new_seconds == Approx(20));
  const Plan& p = r->plan;
  REQUIRE(CheckSchedule(p.instance, p.schedule).ok());
  REQUIRE(p.instance.jobs.size() == 1);
  CHECK(p.instance.jobs[0].name == "job2");
  CHECK(p.schedule.jobs[0].device_ids[0] == std::vector<int>{1});
  CHECK(p.schedule.jobs[0].start == Approx(10));
  REQUIRE(p.instance.reserved.size() == 2);
  CHECK(p.instance.reserved[0].job == "job0");
  CHECK(p.instance.reserved[0].until == Approx(20));
  CHECK(p.offset_seconds == Approx(10));
  CHECK(p.makespan() == Approx(20));
  CHECK(p.lower_bound <= p.makespan() + 1e-9);
  CHECK(p.lower_bound >= 20 - 1e-9);  // job0 holds device 0 that long

  // The plan file keeps the reservations and the offset; reading it back re-checks them.
  Result<Plan> back = ParsePlan(PlanToJson(p), "plan-1.json");
  REQUIRE(back.ok());
  CHECK(back->offset_seconds == Approx(10));
  REQUIRE(back->instance.reserved.size() == 2);
  CHECK(back->instance.reserved[1].device_ids == std::vector<int>{1});
  CHECK(back->makespan() == Approx(20));
  // A waiting job put on a reserved device while it is held is caught.
  Plan bad = p;
  bad.schedule.jobs[0].device_ids[0] = {0};
  CHECK_THAT(CheckSchedule(bad.instance, bad.schedule).message(), Catch::Contains("two jobs at once"));
}

TEST_CASE("a re-plan keeps the objective and priorities, and counts deadlines from its own time 0", "[replan]") {
  Instance inst = FourJobs();
  inst.objective = "mean-completion";
  inst.jobs[2].weight = 2;
  inst.jobs[2].deadline = 35;
  Result<Replanned> r = Replan(inst, SlowFirstJob(), ReplanOptions());
  REQUIRE(r.ok());
  const Plan& p = r->plan;
  REQUIRE(p.instance.jobs.size() == 1);
  CHECK(p.instance.objective == "mean-completion");
  CHECK(p.instance.jobs[0].weight == 2);
  CHECK(p.instance.jobs[0].deadline == Approx(25));  // 35 s into the sweep, 10 s in now
  CHECK(p.schedule.jobs[0].end == Approx(20));       // on device 1 after job3
  CHECK(p.solver.objective == Approx(20));
  // The file says the deadline as the sweep does, from its start.
  Result<Plan> back = ParsePlan(PlanToJson(p), "plan-1.json");
  REQUIRE(back.ok());
  CHECK(back->instance.jobs[0].deadline == Approx(25));
  CHECK_THAT(PlanToJson(p), Catch::Contains("\"deadline_seconds\": 35"));
}

TEST_CASE("a job continuing from a checkpoint is planned with the steps it has left", "[replan]") {
  Instance inst = FourJobs();
  for (PlanJob& j : inst.jobs) j.steps = 10, j.configs[0].step_seconds = 1;
  SweepState s = SlowFirstJob();
  s.jobs[2].remaining_fraction = 0.3;
  Result<Replanned> r = Replan(inst, s, ReplanOptions());
  REQUIRE(r.ok());
  CHECK(r->plan.instance.jobs[0].steps == 3);
  CHECK(r->plan.instance.jobs[0].configs[0].seconds == Approx(3));
  CHECK(r->kept_seconds == Approx(23));
  CHECK(r->new_seconds == Approx(20));  // job0's reservation ends last
}

TEST_CASE("re-planning random states never predicts a later end than keeping the plan", "[replan]") {
  std::mt19937 rng(11);
  int waiting_states = 0, improved = 0;
  for (int trial = 0; trial < 30; ++trial) {
    INFO("trial " << trial);
    // One node, or two with jobs on both (placements of whole nodes).
    const Instance inst = trial % 2 ? RandomInstance(rng, {8}, 10, {1, 2, 4}) : RandomInstance(rng, {4, 4}, 10, {1, 2, 4, 8});
    const Schedule plan = GreedySchedule(inst);
    REQUIRE(CheckSchedule(inst, plan).ok());
    const double now = plan.makespan() * double(rng() % 100) / 100;
    SweepState s = StateAt(inst, plan, now, rng);
    ReplanOptions opt;
    opt.max_moves = 2000;
    Result<Replanned> r = Replan(inst, s, opt);
    REQUIRE(r.ok());
    CHECK(r->new_seconds <= r->kept_seconds + 1e-9);
    waiting_states += !r->plan.instance.jobs.empty();
    improved += r->new_seconds < r->kept_seconds - 1e-9;
    CHECK(CheckSchedule(r->plan.instance, r->plan.schedule).ok());
    CHECK(r->plan.lower_bound <= r->new_seconds + 1e-6);
    for (const Reservation& res : r->plan.instance.reserved) CHECK(r->new_seconds >= res.until - 1e-9);
    // The same state and move budget give the same plan.
    Result<Replanned> again = Replan(inst, s, opt);
    REQUIRE(again.ok());
    for (size_t j = 0; j < r->plan.schedule.jobs.size(); ++j) {
      const Assignment &x = r->plan.schedule.jobs[j], &y = again->plan.schedule.jobs[j];
      CHECK(x.config == y.config);
      CHECK(x.start == y.start);
      CHECK(x.device_ids == y.device_ids);
    }
  }
  // The states exercise the search: most have jobs waiting, and some of those gain.
  CHECK(waiting_states >= 15);
  CHECK(improved >= 5);
}

TEST_CASE("a state that does not match the plan is refused, naming what", "[replan]") {
  const Instance inst = FourJobs();
  auto refused = [&](SweepState s, const std::string& why) {
    Result<Replanned> r = Replan(inst, s, ReplanOptions());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().exit_code() == 2);
    CHECK_THAT(r.status().message(), Catch::Contains(why));
  };
  SweepState s = SlowFirstJob();
  s.jobs.pop_back();
  refused(s, "says nothing of job 'job3'");
  s = SlowFirstJob();
  s.jobs.push_back(Finished("job9"));
  refused(s, "job 'job9' of the state is not in the plan");
  s = SlowFirstJob();
  s.jobs[0].technique = "fsdp";
  refused(s, "no configuration fsdp x1");
  s = SlowFirstJob();
  s.jobs[3].placement[0].device_ids = {0};
  refused(s, "already held by another running job");
  s = SlowFirstJob();
  s.jobs[2].placement[0].device_ids = {5};
  refused(s, "distinct device ids of node node0");
  s = SlowFirstJob();
  s.jobs[1].state = "done";
  refused(s, "none of finished, running, waiting");
}

TEST_CASE("saturn plan --from-state re-plans a state file as the orchestrator does", "[replan][cli]") {
  TempDir d;
  Plan base;
  base.policy = "greedy";
  base.sweep = "test";
  base.instance = FourJobs();
  base.schedule = SerialSchedule(base.instance, {{0, 0, 0}, {1, 0, 0}, {2, 0, 0}, {3, 0, 0}});
  REQUIRE(base.schedule.jobs[2].device_ids[0] == std::vector<int>{0});
  REQUIRE(WriteFileAtomic(d / "plan.json", PlanToJson(base)).ok());
  const std::string state = d.write("state-1.json", SweepStateToJson(SlowFirstJob()));  // "plan.json": beside it
  Run r = Saturn("plan --from-state " + state + " -o " + (d / "plan-1.json"));
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("job0") && Catch::Contains("running") &&
                        Catch::Contains("30.0 s to the end keeping the current plan, 20.0 s re-planned"));
  Result<Plan> p = LoadPlan(d / "plan-1.json");
  REQUIRE(p.ok());
  CHECK(p->schedule.jobs[0].device_ids[0] == std::vector<int>{1});
  CHECK(saturn::ReadFile(d / "plan-1.svg").ok());

  const std::string broken = d.write("broken.json", "{\"version\": 1, \"plan\": \"plan.json\",\n \"now_seconds\": [}");
  Run b = Saturn("plan --from-state " + broken + " -o " + (d / "x.json"));
  CHECK(b.code == 2);
  CHECK_THAT(b.out, Catch::Contains("broken.json:2:"));
  const std::string stale = d.write("stale.json", "{\"version\": 1, \"plan\": \"plan.json\", \"now_seconds\": 1, \"jobs\": []}");
  Run s = Saturn("plan --from-state " + stale + " -o " + (d / "x.json"));
  CHECK(s.code == 2);
  CHECK_THAT(s.out, Catch::Contains("stale.json: the state says nothing of job 'job0'"));
  CHECK_FALSE(fs::exists(d / "x.json"));
}

TEST_CASE("re-planning widens a lone waiting job when devices free, and scales a resumed job's every configuration",
          "[replan]") {
  // job0 holds device 0 for 1 s more; job1 waits, planned ddp x1 (10 s) but may take both
  // devices with ddp x2 (5.5 s): from 1 s on, x2 ends at 6.5 s.
  Instance inst = MakeInstance({2}, {{{"ddp", 1, 10}}, {{"ddp", 1, 10}, {"ddp", 2, 5.5}}});
  SweepState s;
  s.jobs = {Running("job0", 0, 1), Waiting("job1", 1, 0)};
  Result<Replanned> r = Replan(inst, s, ReplanOptions());
  REQUIRE(r.ok());
  CHECK(r->kept_seconds == Approx(10));
  CHECK(r->new_seconds == Approx(6.5));
  // Adopted only when it gains the share asked (--replan-threshold): 3.5 s of 10 s.
  CHECK(r->Worth(0.05));
  CHECK(r->Worth(0.34));
  CHECK_FALSE(r->Worth(0.36));
  const Plan& p = r->plan;
  CHECK(p.instance.jobs[0].configs[p.schedule.jobs[0].config].devices == 2);
  CHECK(p.schedule.jobs[0].start == Approx(1));

  // Half of job1's 10 steps trained: every configuration is halved, and the choice kept is found again.
  inst.jobs[1].steps = 10;
  s.jobs[1].remaining_fraction = 0.5;
  r = Replan(inst, s, ReplanOptions());
  REQUIRE(r.ok());
  CHECK(r->kept_seconds == Approx(5));
  CHECK(r->new_seconds == Approx(3.75));
  for (const Config& c : r->plan.instance.jobs[0].configs) CHECK(c.seconds == Approx(c.devices == 1 ? 5 : 2.75));
}

TEST_CASE("a movable running job is moved at its checkpoint when that ends the sweep sooner by the gain asked",
          "[replan]") {
  // job0 runs ddp x1 on device 0 with 90 s left (90 of its 100 steps); device 1 is idle. Moved,
  // it stops within 1 s (device 0 held that long, and it starts anew no sooner) and trains again
  // 4 s after its launch: ddp x2 on both devices from 1 s takes 0.9 x 40 s + 4 s, so it ends at
  // 41 s instead of 90 s. The stop counts once, though job0 moves onto its own device too.
  const Instance inst = WithMovable(2, 1);
  SweepState s;
  s.now = 10;
  s.jobs = {MovableJob0(), Finished("job1")};
  Result<Replanned> r = Replan(inst, s, ReplanOptions());
  REQUIRE(r.ok());
  CHECK(r->kept_seconds == Approx(90));
  CHECK(r->new_seconds == Approx(41));
  CHECK(r->moved == std::vector<std::string>{"job0"});
  const Plan& p = r->plan;
  REQUIRE(CheckSchedule(p.instance, p.schedule).ok());
  REQUIRE(p.instance.jobs.size() == 1);
  CHECK(p.instance.jobs[0].steps == 90);
  const Config& c = p.instance.jobs[0].configs[p.schedule.jobs[0].config];
  CHECK(c.devices == 2);
  CHECK(c.seconds == Approx(40));
  CHECK(p.instance.jobs[0].release == Approx(1));
  CHECK(p.schedule.jobs[0].start == Approx(1));
  REQUIRE(p.instance.reserved.size() == 1);  // device 0 until the stop
  CHECK(p.instance.reserved[0].until == Approx(1));
  CHECK(p.lower_bound <= r->new_seconds + 1e-9);
  // The release travels in the plan file, and the plan check holds the job to it.
  Result<Plan> reread = ParsePlan(PlanToJson(p), "plan-1.json");
  REQUIRE(reread.ok());
  CHECK(reread->instance.jobs[0].release == Approx(1));
  Schedule early = p.schedule;
  early.jobs[0].start -= 1, early.jobs[0].end -= 1;
  CHECK_THAT(CheckSchedule(p.instance, early).message(), Catch::Contains("job0: starts before its release"));

  // Kept where it is: not movable, moving costs more than it gains, or gains less than asked.
  SweepState fixed = s;
  fixed.jobs[0].movable = false;
  SweepState dear = s;
  dear.jobs[0].restart_seconds = 60;  // 36 + 61 s from 1 s: later than 90 s
  SweepState modest = s;
  modest.move_gain = 0.6;  // 49 s of 90 s is 0.54
  for (const SweepState* k : {&fixed, &dear, &modest}) {
    Result<Replanned> kept = Replan(inst, *k, ReplanOptions());
    REQUIRE(kept.ok());
    CHECK(kept->moved.empty());
    CHECK(kept->new_seconds == Approx(90));
    CHECK(kept->plan.instance.jobs.empty());
    REQUIRE(kept->plan.instance.reserved.size() == 1);
    CHECK(kept->plan.instance.reserved[0].until == Approx(90));
  }

  // The state file keeps what moving needs; bad values are refused naming the job.
  Result<SweepState> back = ParseSweepState(SweepStateToJson(modest), "state.json");
  REQUIRE(back.ok());
  CHECK(back->move_gain == Approx(0.6));
  CHECK(back->jobs[0].movable);
  CHECK(back->jobs[0].remaining_fraction == Approx(0.9));
  CHECK(back->jobs[0].stop_seconds == Approx(1));
  CHECK(back->jobs[0].restart_seconds == Approx(4));
  std::string text = SweepStateToJson(s);
  const std::string key = "\"restart_seconds\": ";
  REQUIRE(text.find(key) != std::string::npos);
  text.insert(text.find(key) + key.size(), "-");
  CHECK_THAT(ParseSweepState(text, "s.json").status().message(),
             Catch::Contains("('job0'): restart_seconds must be a finite number of seconds"));
  SweepState no_fraction = s;
  no_fraction.jobs[0].remaining_fraction = 0;
  CHECK_THAT(Replan(inst, no_fraction, ReplanOptions()).status().message(), Catch::Contains("remaining_fraction"));
}

TEST_CASE("a move is weighed against the best plan without moves, even while the current plan is blocked by a "
          "device out of use",
          "[replan]") {
  // One node of 3 devices, device 2 out of use. job0 runs ddp x1 on device 0 with 90 s left
  // (movable, as in the case above: ddp x2 from its stop at 1 s ends at 41 s); job2 (10 s) waits
  // for device 2. Kept, job2 never starts; without moves it goes to device 1 and the sweep ends at
  // 90 s; moving job0 onto devices 0 and 1 ends it at 41 s, and the sweep by 52 s at the latest
  // (42% sooner, or more).
  const Instance inst = WithMovable(3, 2);
  SweepState s;
  s.now = 10;
  s.jobs = {MovableJob0(), Finished("job1"), Waiting("job2", 2, 10)};
  s.excluded = {{"node0", {2}}};
  Result<Replanned> r = Replan(inst, s, ReplanOptions());
  REQUIRE(r.ok());
  CHECK(r->kept_blocked());
  CHECK(r->moved == std::vector<std::string>{"job0"});
  CHECK(r->new_seconds <= 52 + 1e-6);
  REQUIRE(CheckSchedule(r->plan.instance, r->plan.schedule).ok());
  // Asked for more than the move gains (the sweep then ends at about 50 s: 44% sooner), it
  // stays, and job2 still leaves device 2.
  s.move_gain = 0.5;
  r = Replan(inst, s, ReplanOptions());
  REQUIRE(r.ok());
  CHECK(r->moved.empty());
  CHECK(r->new_seconds == Approx(90));
}

TEST_CASE("a job moved onto 3 devices and a waiting job beside it share the node without overlap", "[replan]") {
  // One node of 4. job0 (100 steps: 1 s a step on one device, 0.3 s on three) runs on device 0
  // with 90 s left; job2 (10 s on one device) waits for device 0 after it. Moved onto 3 devices,
  // job0 starts anew once its 1 s stop is done and takes 0.9 x 30 + 4 s: the sweep ends at 32 s
  // instead of 90 s. Its own device is free when it starts anew, so it takes that one and two
  // others (the stop counted once), job2 starts at once on the fourth, and no device holds two
  // jobs at once.
  Instance inst = MakeInstance({4}, {{{"ddp", 1, 1}, {"ddp", 3, 0.3}}, {{"ddp", 1, 10}}, {{"ddp", 1, 10}}});
  inst.jobs[0].steps = 100;
  for (Config& c : inst.jobs[0].configs) c.seconds = c.step_seconds * 100;
  SweepState s;
  s.now = 10;
  s.jobs = {MovableJob0(), Finished("job1"), Waiting("job2", 0, 100)};
  Result<Replanned> r = Replan(inst, s, ReplanOptions());
  REQUIRE(r.ok());
  CHECK(r->moved == std::vector<std::string>{"job0"});
  CHECK(r->new_seconds == Approx(32));
  const Plan& p = r->plan;
  REQUIRE(CheckSchedule(p.instance, p.schedule).ok());
  REQUIRE(p.instance.jobs.size() == 2);
  std::map<std::string, size_t> at;
  for (size_t j = 0; j < p.instance.jobs.size(); ++j) at[p.instance.jobs[j].name] = j;
  const Assignment& moved = p.schedule.jobs[at.at("job0")];
  const Assignment& beside = p.schedule.jobs[at.at("job2")];
  CHECK(p.instance.jobs[at.at("job0")].configs[size_t(moved.config)].devices == 3);
  REQUIRE(moved.device_ids.size() == 1);
  CHECK(moved.device_ids[0].size() == 3);
  CHECK(moved.start == Approx(1));
  CHECK(moved.end == Approx(32));
  CHECK(std::count(moved.device_ids[0].begin(), moved.device_ids[0].end(), 0) == 1);
  // job2 overlaps job0's run, so its device is the one job0 does not take.
  REQUIRE(beside.device_ids.size() == 1);
  REQUIRE(beside.device_ids[0].size() == 1);
  CHECK(beside.start == Approx(0));
  CHECK(std::count(moved.device_ids[0].begin(), moved.device_ids[0].end(), beside.device_ids[0][0]) == 0);
}

// A sweep's tail: one to three jobs still run, each on one device (its one-device configuration,
// the time left a random share of it, run faster or slower than profiled), every other job done,
// so that devices idle beside them.
SweepState NarrowTail(const Instance& inst, std::mt19937& rng) {
  SweepState s;
  const int running = 1 + int(rng() % 3);
  for (size_t j = 0; j < inst.jobs.size(); ++j) {
    JobState js;
    js.job = inst.jobs[j].name;
    js.state = "finished";
    const Config& one = inst.jobs[j].configs.front().devices == 1 ? inst.jobs[j].configs.front() : inst.jobs[j].configs.back();
    if (int(j) < running && one.devices == 1) {
      js.state = "running";
      js.technique = one.technique, js.devices = 1;
      js.placement = {{inst.nodes[0].name, {int(j)}}};
      js.remaining_fraction = 0.1 + double(rng() % 90) / 100;
      js.remaining_seconds = one.seconds * js.remaining_fraction * (0.5 + double(rng() % 150) / 100);
    }
    s.jobs.push_back(js);
  }
  return s;
}

TEST_CASE("re-planning random states with movable running jobs: valid plans, moves that pay, the same every time",
          "[replan]") {
  std::mt19937 rng(23);
  int moved_states = 0;
  for (int trial = 0; trial < 40; ++trial) {
    INFO("trial " << trial);
    Instance inst = trial % 2 ? RandomInstance(rng, {8}, 10, {1, 2, 4}) : RandomInstance(rng, {4, 4}, 10, {1, 2, 4, 8});
    for (PlanJob& j : inst.jobs) j.steps = 100;  // so that a share of the steps left scales the time
    const Schedule plan = GreedySchedule(inst);
    const double now = plan.makespan() * double(rng() % 100) / 100;
    // Mid-sweep states of the greedy plan (jobs wait), and tails with running jobs on one device.
    SweepState s = trial % 4 < 2 ? StateAt(inst, plan, now, rng) : NarrowTail(inst, rng);
    s.move_gain = 0.02;
    std::map<std::string, const JobState*> running;
    for (JobState& js : s.jobs)
      if (js.state == "running") {
        js.movable = true;
        if (trial % 4 < 2) js.remaining_fraction = 0.1 + double(rng() % 90) / 100;
        js.stop_seconds = double(rng() % 2);
        js.restart_seconds = double(rng() % 5);
        running[js.job] = &js;
      }
    ReplanOptions opt;
    opt.max_moves = 1000;
    Result<Replanned> r = Replan(inst, s, opt);
    REQUIRE(r.ok());
    const Plan& p = r->plan;
    CHECK(CheckSchedule(p.instance, p.schedule).ok());
    CHECK(r->new_seconds <= r->kept_seconds + 1e-9);
    // Every move gained its share of the time left.
    CHECK(r->new_seconds <= r->kept_seconds * (1 - s.move_gain * double(r->moved.size())) + 1e-6);
    moved_states += !r->moved.empty();
    for (const std::string& name : r->moved) {
      INFO(name);
      REQUIRE(running.count(name));
      const JobState& was = *running[name];
      for (size_t j = 0; j < p.instance.jobs.size(); ++j) {
        if (p.instance.jobs[j].name != name) continue;
        const Config& c = p.instance.jobs[j].configs[p.schedule.jobs[j].config];
        const JobState now_on = StateOf(p.instance, int(j), p.schedule.jobs[j]);
        CHECK((c.technique != was.technique || c.devices != was.devices || now_on.placement[0].device_ids != was.placement[0].device_ids ||
               now_on.placement.size() != was.placement.size()));
        CHECK(c.seconds >= was.stop_seconds + was.restart_seconds);
        CHECK(p.instance.jobs[j].steps == std::llround(100 * was.remaining_fraction));
      }
      for (const Reservation& res : p.instance.reserved)
        if (res.job == name) CHECK(res.until == Approx(was.stop_seconds));
    }
    Result<Replanned> again = Replan(inst, s, opt);
    REQUIRE(again.ok());
    CHECK(again->moved == r->moved);
    CHECK(again->new_seconds == r->new_seconds);
  }
  CHECK(moved_states >= 5);
}

TEST_CASE("a state's nodes keep the re-plan on them", "[replan]") {
  // Two nodes; job2 waits and would start at once on node1, but the state allows node0 alone.
  const Instance inst = MakeInstance({1, 1}, {{{"ddp", 1, 10}}, {{"ddp", 1, 10}}, {{"ddp", 1, 10}}});
  SweepState s;
  s.jobs = {Running("job0", 0, 4), Finished("job1"), Waiting("job2", 0, 10)};
  Result<Replanned> anywhere = Replan(inst, s, ReplanOptions());
  REQUIRE(anywhere.ok());
  CHECK(anywhere->new_seconds == Approx(10));  // on node1 from now
  s.nodes = {"node0"};
  Result<Replanned> here = Replan(inst, s, ReplanOptions());
  REQUIRE(here.ok());
  CHECK(here->new_seconds == Approx(14));
  REQUIRE(here->plan.instance.nodes.size() == 1);
  CHECK(here->plan.instance.nodes[0].name == "node0");
  s.nodes = {"node7"};
  CHECK_THAT(Replan(inst, s, ReplanOptions()).status().message(), Catch::Contains("no node 'node7'"));
}

TEST_CASE("span_nodes false keeps every job within one node, and survives the state file", "[replan]") {
  // Two nodes of one device; job0 runs on node0 for 4 s more; job1 waits. Across both nodes
  // (ddp x2, 3 s) it could start at 4 s and end at 7 s; within one node (ddp x1, 10 s) it starts
  // at once on node1.
  const Instance inst = MakeInstance({1, 1}, {{{"ddp", 1, 10}}, {{"ddp", 1, 10}, {"ddp", 2, 3}}});
  SweepState s;
  s.jobs = {Running("job0", 0, 4), Waiting("job1", 0, 10)};
  Result<Replanned> across = Replan(inst, s, ReplanOptions());
  REQUIRE(across.ok());
  CHECK(across->new_seconds == Approx(7));
  s.span_nodes = false;
  Result<SweepState> back = ParseSweepState(SweepStateToJson(s), "state.json");
  REQUIRE(back.ok());
  CHECK_FALSE(back->span_nodes);
  CHECK(ParseSweepState(SweepStateToJson(SweepState()), "state.json")->span_nodes);
  Result<Replanned> within = Replan(inst, *back, ReplanOptions());
  REQUIRE(within.ok());
  CHECK(within->new_seconds == Approx(10));
  const Plan& p = within->plan;
  const Config& c = p.instance.jobs[0].configs[p.schedule.jobs[0].config];
  CHECK(c.devices == 1);
  CHECK(c.placements[p.schedule.jobs[0].placement].nodes.size() == 1);
  for (const Config& any : p.instance.jobs[0].configs)
    for (const Placement& pl : any.placements) CHECK(pl.nodes.size() == 1);
  CHECK_THAT(ParseSweepState(R"({"version": 1, "plan": "p.json", "now_seconds": 0, "span_nodes": 1, "jobs": []})", "s.json")
                 .status()
                 .message(),
             Catch::Contains("span_nodes must be true or false"));
}

TEST_CASE("a malformed state file is an error naming the job entry and key, never a wrapped number", "[replan]") {
  const std::string good = SweepStateToJson(SlowFirstJob());
  REQUIRE(ParseSweepState(good, "s.json").ok());
  auto refused = [&](const std::string& from, const std::string& to, const std::string& why) {
    std::string text = good;
    const size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    Result<SweepState> s = ParseSweepState(text, "s.json");
    INFO(text);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().exit_code() == 2);
    CHECK_THAT(s.status().message(), Catch::StartsWith("s.json") && Catch::Contains(why));
  };
  refused("\"devices\": 1", "\"devices\": 4294967297", "jobs[0] ('job0'): devices must be an integer in [1, 1048576]");
  refused("\"devices\": 1", "\"devices\": 1.9", "devices must be an integer");
  refused("\"devices\": 1", "\"devices\": 1e30", "devices must be an integer");
  refused("\"devices\": 1", "\"devices\": \"1\"", "devices must be an integer");
  refused("\"remaining_seconds\": 20.0", "\"remaining_seconds\": 1e308", "remaining_seconds must be a finite number");
  refused("\"remaining_seconds\": 20.0", "\"remaining_secs\": 20.0", "jobs[0] ('job0'): remaining_seconds is missing");
  refused("\"remaining_fraction\": 1.0", "\"remaining_fraction\": 0", "remaining_fraction must be a number in (0, 1]");
  refused("\"order_seconds\": 10.0", "\"order_seconds\": -1e300", "order_seconds must be a number of seconds within");
  refused("\"order_seconds\": 10.0", "\"order_seconds\": \"x\"", "order_seconds must be a number of seconds within");
  refused("\"now_seconds\": 10.0", "\"now_seconds\": null", "now_seconds must be a finite number");
  refused("\"state\": \"waiting\"", "\"state\": 3", "jobs[2] ('job2'): state must be a string");
  refused("[\n      0\n     ]", "[-1]", "placement devices must be an integer in [0,");
  refused("\"version\": 1", "\"version\": 2", "not a version 1 saturn sweep state");
  refused("\"jobs\": [", "\"jobs\": 3, \"x\": [", "jobs must be a list");
}

TEST_CASE("excluded devices: a waiting job planned on one moves off it, a job the rest cannot host is named, and "
          "both files keep them",
          "[replan]") {
  // One node of 4 devices; device 3 is excluded. job0 runs on device 0 for 10 s more; job1 (10.3 s:
  // not a whole number, which a job placed after "never" must keep) waits for device 3, job2 (x2
  // in 5 s or x1 in 8 s) for devices 2 and 3, job3 needs all 4.
  const Instance inst =
      MakeInstance({4}, {{{"ddp", 1, 10}}, {{"ddp", 1, 10.3}}, {{"ddp", 2, 5}, {"ddp", 1, 8}}, {{"ddp", 4, 3}}});
  SweepState s;
  s.plan = "plan.json";
  JobState job2 = Waiting("job2", 2, 10);
  job2.devices = 2, job2.placement = {{"node0", {2, 3}}};
  JobState job3 = Waiting("job3", 0, 20);
  job3.devices = 4, job3.placement = {{"node0", {0, 1, 2, 3}}};
  // job1's launch failed on device 3: it waits again, ahead of the jobs not yet started.
  s.jobs = {Running("job0", 0, 10), Waiting("job1", 3, -1e12), job2, job3};
  s.excluded = {{"node0", {3}}};
  Result<SweepState> back = ParseSweepState(SweepStateToJson(s), "state.json");
  REQUIRE(back.ok());
  REQUIRE(back->excluded.size() == 1);
  CHECK(back->jobs[1].order == -1e12);
  CHECK(back->excluded[0].device_ids == std::vector<int>{3});

  Result<Replanned> r = Replan(inst, *back, ReplanOptions());
  REQUIRE(r.ok());
  CHECK(r->kept_blocked());  // job1 would wait for device 3 for good
  CHECK(r->unplaceable == std::vector<std::string>{"job3"});
  // job1 on device 1, job2 on one device in 8 s: all ends with job1 at 10.3 s.
  CHECK(r->new_seconds == Approx(10.3));
  const Plan& p = r->plan;
  REQUIRE(p.instance.jobs.size() == 2);
  REQUIRE(CheckSchedule(p.instance, p.schedule).ok());
  for (const Assignment& a : p.schedule.jobs)
    for (int d : a.device_ids[0]) CHECK(d != 3);
  CHECK(p.makespan() == Approx(10.3));
  CHECK(p.lower_bound <= p.makespan() + 1e-9);
  CHECK(p.lower_bound >= 10.3 - 1e-9);
  Result<Plan> file = ParsePlan(PlanToJson(p), "plan-1.json");
  REQUIRE(file.ok());
  int out = 0;
  for (const Reservation& res : file->instance.reserved)
    if (res.out_of_use) {
      ++out;
      CHECK(res.device_ids == std::vector<int>{3});
    }
  CHECK(out == 1);
  CHECK(file->makespan() == Approx(10.3));
  CHECK_THAT(PlanToJson(p), Catch::Contains("\"out_of_use\": true"));
  // A re-plan of that re-plan keeps the device out of use without the state saying so again.
  SweepState later;
  later.now = 1;
  later.jobs = {Waiting("job1", 1, 0), Waiting("job2", 2, 0)};
  for (size_t j = 0; j < p.instance.jobs.size(); ++j) {
    later.jobs[j] = StateOf(p.instance, int(j), p.schedule.jobs[j]);
    later.jobs[j].state = "waiting";
  }
  Result<Replanned> again = Replan(file->instance, later, ReplanOptions());
  REQUIRE(again.ok());
  for (const Assignment& a : again->plan.schedule.jobs)
    for (int d : a.device_ids[0]) CHECK(d != 3);

  s.excluded = {{"node0", {4}}};
  CHECK_THAT(Replan(inst, s, ReplanOptions()).status().message(), Catch::Contains("device 4 of node node0 is not among"));
}

TEST_CASE("re-plans of small states with running jobs and a device out of use end as soon as brute force allows",
          "[replan]") {
  // On one node every schedule is matched or beaten by the list schedule of its start order and
  // configurations (the compaction lemma, docs/planner.md), so the best over every order and every
  // configuration of the waiting jobs is the optimum of the residual instance.
  std::mt19937 rng(5);
  int checked = 0, with_excluded = 0;
  for (int trial = 0; trial < 60 && checked < 25; ++trial) {
    INFO("trial " << trial);
    const Instance inst = RandomInstance(rng, {4}, 6, {1, 2, 4});
    const Schedule plan = GreedySchedule(inst);
    const double now = plan.makespan() * double(20 + rng() % 60) / 100;
    SweepState s = StateAt(inst, plan, now, rng);
    // Odd trials: the launch running on device 3 failed there and the device went out of use;
    // that job waits again, first, still placed there (as the orchestrator leaves it).
    if (trial % 2) {
      s.excluded = {{"node0", {3}}};
      for (JobState& js : s.jobs)
        if (js.state == "running" && std::count(js.placement[0].device_ids.begin(), js.placement[0].device_ids.end(), 3))
          js.state = "waiting", js.order = -1e12, js.remaining_seconds = 0;
    }
    Result<Replanned> r = Replan(inst, s, ReplanOptions());
    REQUIRE(r.ok());
    const Instance& res = r->plan.instance;
    const int n = int(res.jobs.size());
    if (n < 2 || n > 4) continue;
    ++checked;
    with_excluded += !s.excluded.empty();
    std::vector<int> order(n), config(n, 0);
    double best = INFINITY;
    for (int j = 0; j < n; ++j) order[j] = j;
    do {
      for (;;) {  // every configuration vector, as an odometer
        Schedule sched = ListSchedule(res, order, config);
        double end = sched.makespan();
        for (const Reservation& x : res.reserved)
          if (!x.out_of_use) end = std::max(end, x.until);
        best = std::min(best, end);
        int k = 0;
        while (k < n && ++config[k] == int(res.jobs[k].configs.size())) config[k++] = 0;
        if (k == n) break;
      }
    } while (std::next_permutation(order.begin(), order.end()));
    REQUIRE(best < kForever / 2);  // some schedule avoids the device out of use
    if (!s.excluded.empty()) {
      CHECK(std::any_of(res.reserved.begin(), res.reserved.end(), [](const Reservation& x) { return x.out_of_use; }));
      for (const Assignment& a : r->plan.schedule.jobs) CHECK(std::count(a.device_ids[0].begin(), a.device_ids[0].end(), 3) == 0);
    }
    CHECK(r->new_seconds == Approx(best).margin(1e-6));
  }
  CHECK(checked >= 15);
  CHECK(with_excluded >= 5);
}

TEST_CASE("a background re-plan hands its result to the thread that polls it, once, and joins when destroyed",
          "[replan][threads]") {
  const Instance inst = FourJobs();
  ReplanOptions opt;
  opt.max_moves = 200;
  BackgroundReplan bg;
  CHECK_FALSE(bg.Take());
  for (int round = 0; round < 20; ++round) {
    SweepState s = SlowFirstJob();
    s.now = 10 + round;  // each round's own state comes back with its result
    bg.Start(inst, s, opt);
    CHECK(bg.in_flight());
    std::optional<std::pair<SweepState, Result<Replanned>>> got;
    while (!(got = bg.Take())) std::this_thread::yield();
    CHECK_FALSE(bg.in_flight());
    CHECK_FALSE(bg.Take());
    CHECK(got->first.now == 10 + round);
    REQUIRE(got->second.ok());
    CHECK(got->second->new_seconds == Approx(20));
  }
  BackgroundReplan in_flight;
  in_flight.Start(inst, SlowFirstJob(), opt);  // destroyed before anyone takes it: the thread is joined
}
