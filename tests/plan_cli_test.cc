// `saturn plan` as a user runs it: the binary, real files, exit codes, what is (not) written.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <catch2/catch.hpp>

#include "plan/plan.h"
#include "util/files.h"
#include "cli_util.h"

namespace fs = std::filesystem;

namespace {

const char* kSweep = R"(name: cli-test
cluster:
  nodes:
    - {name: a, devices: 4}
    - {name: b, devices: 4}
jobs:
  - name: small
    model: models/tiny.json
    steps: 100
    devices: [1, 2, 4]
    grid:
      optimizer.lr: [1.0e-4, 3.0e-4]
  - name: big
    model: models/big.json
    steps: 10
    devices: [4, 8]
)";

std::string Profile(const std::string& extra_records = "", const std::string& sweep = "cli-test") {
  return R"({"version": 1, "sweep": ")" + sweep + R"(", "records": [
  {"job": "small.lr=1.0e-4", "technique": "ddp", "devices": 1, "feasible": true, "step_seconds": 4.0},
  {"job": "small.lr=1.0e-4", "technique": "ddp", "devices": 2, "feasible": true, "step_seconds": 2.2},
  {"job": "small.lr=1.0e-4", "technique": "fsdp", "devices": 4, "feasible": true, "step_seconds": 1.3},
  {"job": "big", "technique": "ddp", "devices": 4, "feasible": false, "reason": "out of memory"},
  {"job": "big", "technique": "fsdp", "devices": 4, "feasible": true, "step_seconds": 30.0},
  {"job": "big", "technique": "fsdp", "devices": 8, "feasible": true, "step_seconds": 16.0})" +
         extra_records + "]}";
}

}  // namespace

TEST_CASE("saturn --help and --version", "[cli]") {
  Run h = Saturn("--help");
  CHECK(h.code == 0);
  CHECK_THAT(h.out, Catch::Contains("plan"));
  Run v = Saturn("--version");
  CHECK(v.code == 0);
  CHECK_THAT(v.out, Catch::Contains("saturn " SATURN_VERSION));
  CHECK(Saturn("no-such-command").code == 2);
}

TEST_CASE("saturn plan writes a checked plan, a table and a Gantt chart", "[cli]") {
  TempDir d;
  std::string sweep = d.write("sweep.yaml", kSweep), prof = d.write("profile.json", Profile());
  for (std::string policy : {"milp", "greedy", "uniform", "current-practice"}) {
    INFO(policy);
    Run r = Saturn("plan " + sweep + " --profile " + prof + " -o " + d / (policy + ".json") + " --policy " + policy +
                   " --time-limit 10");
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("small.lr=3.0e-4"));  // shares small.lr=1.0e-4's records
    CHECK_THAT(r.out, Catch::Contains("policy " + policy + ": makespan"));
    auto plan = saturn::LoadPlan(d / (policy + ".json"));  // re-checks every device and time
    REQUIRE(plan.ok());
    CHECK(plan->instance.jobs.size() == 3);
    CHECK(plan->makespan() >= plan->lower_bound - 1e-6);
    auto svg = saturn::ReadFile(d / (policy + ".svg"));
    REQUIRE(svg.ok());
    CHECK_THAT(*svg, Catch::StartsWith("<svg") && Catch::Contains("big (fsdp x"));
  }
  Run sim = Saturn("plan --simulate " + d / "milp.json" + " --trials 3 --seed 4");
  CHECK(sim.code == 0);
  CHECK_THAT(sim.out, Catch::Contains("re-planned"));
}

TEST_CASE("saturn plan refuses bad profiles with exit 2 and writes nothing", "[cli]") {
  TempDir d;
  std::string sweep = d.write("sweep.yaml", kSweep);
  struct Case {
    std::string name, profile, expect;
  };
  std::vector<Case> cases = {
      {"no feasible record",
       R"({"version": 1, "records": [{"job": "small.lr=1.0e-4", "technique": "ddp", "devices": 1, "feasible": true, "step_seconds": 1},
         {"job": "big", "technique": "fsdp", "devices": 4, "feasible": false, "reason": "out of memory"}]})",
       "job 'big' has no feasible configuration"},
      {"unknown job", Profile(R"(,
  {"job": "smal.lr=1.0e-4", "technique": "ddp", "devices": 1, "feasible": true, "step_seconds": 1.0})"),
       "profile.json:8: record for job 'smal.lr=1.0e-4'"},
      {"another sweep", Profile("", "other-sweep"), "measured for sweep 'other-sweep'"},
      {"negative time", Profile(R"(,
  {"job": "big", "technique": "pipeline", "devices": 8, "feasible": true, "step_seconds": -3})"),
       "profile.json:8: records[6] (job 'big'): \"step_seconds\" must be a positive"},
      {"missing time", Profile(R"(,
  {"job": "big", "technique": "pipeline", "devices": 8, "feasible": true})"),
       "feasible record has no \"step_seconds\""},
      {"unknown technique", Profile(R"(,
  {"job": "big", "technique": "fsdpp", "devices": 8, "feasible": true, "step_seconds": 1})"),
       "did you mean 'fsdp'"},
      {"duplicate record", Profile(R"(,
  {"job": "big", "technique": "fsdp", "devices": 8, "feasible": true, "step_seconds": 15.0})"),
       "second record for job 'big'"},
      {"broken json", "{\"version\": 1, \"records\": [\n  {\"job\": }", "profile.json:2:"},
      {"newer version", "{\"version\": 3, \"records\": []}", "this saturn reads profile versions 1 and 2"},
      {"measured in version 1", "{\"version\": 1, \"measured\": {}, \"records\": []}",
       "\"measured\" needs \"version\": 2"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    std::string prof = d.write("profile.json", c.profile);
    Run r = Saturn("plan " + sweep + " --profile " + prof + " -o " + d / "plan.json");
    CHECK(r.code == 2);
    CHECK_THAT(r.out, Catch::Contains(c.expect));
    CHECK_FALSE(fs::exists(d / "plan.json"));
    CHECK_FALSE(fs::exists(d / "plan.svg"));
  }
  std::string prof = d.write("profile.json", Profile());
  Run r = Saturn("plan " + sweep + " --profile " + prof + " -o " + d / "plan.json --policy fastest");
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("unknown policy"));
  CHECK(Saturn("plan " + sweep + " -o " + d / "plan.json").code == 2);  // no profile
}

TEST_CASE("saturn plan --objective mean-completion honours the sweep's priorities and deadlines, and bad ones exit 2", "[cli]") {
  TempDir d;
  auto with = [&](const std::string& small_extra, const std::string& big_extra) {
    std::string text = kSweep;
    text.replace(text.find("    steps: 100\n"), 14, "    steps: 100\n" + small_extra);
    text.replace(text.find("    steps: 10\n"), 13, "    steps: 10\n" + big_extra);
    return d.write("sweep.yaml", text);
  };
  std::string prof = d.write("profile.json", Profile());
  // The best plans: the small jobs side by side on 4 devices each (130 s), big on all 8 (160 s),
  // one pair after the other. Unweighted, the small jobs go first (mean end 183 s against 246 s);
  // with big's priority 3, big goes first (212 s against 226 s), unless the small jobs must end
  // within 0.05 h (180 s).
  auto ends = [&](const std::string& sweep, const std::string& out) {
    Run r = Saturn("plan " + sweep + " --profile " + prof + " -o " + d / out + " --objective mean-completion --time-limit 10");
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("objective mean-completion: "));
    CHECK_THAT(r.out, !Catch::Contains("deadline"));
    auto plan = saturn::LoadPlan(d / out);
    REQUIRE(plan.ok());
    CHECK(plan->instance.objective == "mean-completion");
    std::map<std::string, double> end;
    for (size_t j = 0; j < plan->instance.jobs.size(); ++j) end[plan->instance.jobs[j].name] = plan->schedule.jobs[j].end;
    return end;
  };
  auto plain = ends(with("", ""), "plain.json");
  CHECK(plain["small.lr=1.0e-4"] == Approx(130));
  CHECK(plain["big"] == Approx(290));
  auto heavy = ends(with("    deadline_hours: 0.1\n", "    priority: 3\n"), "heavy.json");
  CHECK(heavy["big"] == Approx(160));
  CHECK(heavy["small.lr=3.0e-4"] == Approx(290));
  auto due = ends(with("    deadline_hours: 0.05\n", "    priority: 3\n"), "due.json");
  CHECK(due["small.lr=1.0e-4"] == Approx(130));
  CHECK(due["small.lr=3.0e-4"] == Approx(130));
  CHECK(due["big"] == Approx(290));
  std::string sweep = with("    deadline_hours: 0.1\n", "    priority: 3\n");
  Run typo = Saturn("plan " + sweep + " --profile " + prof + " -o " + d / "p2.json --objective mean-completon");
  CHECK(typo.code == 2);
  CHECK_THAT(typo.out, Catch::Contains("did you mean 'mean-completion'"));
  // A deadline shorter than the job's fastest configuration: the sweep's line, nothing written.
  sweep = with("", "    deadline_hours: 0.01\n");
  Run late = Saturn("plan " + sweep + " --profile " + prof + " -o " + d / "p3.json");
  CHECK(late.code == 2);
  CHECK_THAT(late.out, Catch::Contains("sweep.yaml:14:5: job 'big': deadline_hours 0.01 is shorter than its fastest "
                                       "configuration (fsdp x8, 0.04 h)"));
  CHECK_FALSE(fs::exists(d / "p3.json"));
  sweep = with("    priority: 0\n", "");
  Run zero = Saturn("plan " + sweep + " --profile " + prof + " -o " + d / "p3.json");
  CHECK(zero.code == 2);
  CHECK_THAT(zero.out, Catch::Contains("priority"));
  CHECK_FALSE(fs::exists(d / "p3.json"));
}

TEST_CASE("saturn plan: a record needing more memory than a device has is planned as infeasible, with a note", "[cli]") {
  TempDir d;
  std::string sweep = d.write("sweep.yaml", kSweep);
  // big's fsdp x4 claims 90 GiB a device; the cluster's devices have 80 (the default).
  std::string profile = Profile();
  const std::string rec = R"("technique": "fsdp", "devices": 4, "feasible": true, "step_seconds": 30.0)";
  profile.replace(profile.find(rec), rec.size(), rec + R"(, "peak_memory_bytes": 96636764160)");
  Run r = Saturn("plan " + sweep + " --profile " + d.write("profile.json", profile) + " -o " + d / "plan.json");
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("note: ") && Catch::Contains("profile.json:") &&
                        Catch::Contains("job 'big' fsdp x4 needs 90.0 GiB per device, above device_memory_gib 80"));
  auto plan = saturn::LoadPlan(d / "plan.json");
  REQUIRE(plan.ok());
  for (const auto& job : plan->instance.jobs)
    for (const auto& c : job.configs) CHECK_FALSE((job.name == "big" && c.technique == "fsdp" && c.devices == 4));
  // With every record of a job over the limit, the job has nothing left, and says why.
  std::string all = profile;
  const std::string rec8 = R"("technique": "fsdp", "devices": 8, "feasible": true, "step_seconds": 16.0)";
  all.replace(all.find(rec8), rec8.size(), rec8 + R"(, "peak_memory_bytes": 96636764160)");
  Run none = Saturn("plan " + sweep + " --profile " + d.write("p2.json", all) + " -o " + d / "p2-plan.json");
  CHECK(none.code == 2);
  CHECK_THAT(none.out, Catch::Contains("job 'big' has no feasible configuration") && Catch::Contains("needs 90.0 GiB"));
}
