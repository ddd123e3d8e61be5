// `saturn run SWEEP --plan PLAN.json` as a user runs it: a CPU "cluster" of 4 devices, three tiny
// jobs (fsdp on 2 ranks under a real mpirun, ddp on 1), planned from a canned profile. Every
// job's final weights equal, byte for byte, those of the job run alone with its technique, also
// after the orchestrator was stopped by SIGTERM and resumed, and after one of its jobs' ranks was
// killed and the job retried from its checkpoint.
#include <chrono>
#include <filesystem>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "data/tokenizer.h"
#include "run_util.h"
#include "util/files.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kMpirun = std::string("--launcher '") + SATURN_MPIRUN + "'";

std::string Job(const std::string& name, const std::string& gpt2, const std::string& more) {
  return "  - name: " + name + "\n    model: " SATURN_SOURCE_DIR "/models/gpt2-tiny.json\n"
         "    tokenizer: {kind: gpt2, path: " + gpt2 + "}\n    data: {train: " + Corpus() + "}\n"
         "    seq_len: 32\n    batch_size: 8\n    steps: 6\n    checkpoint_every: 3\n    log_every: 1\n" + more;
}

// The sweep with its outputs in d/out; planned by a canned profile: a on 2 devices with fsdp,
// the two b jobs on one device each.
std::string Sweep(const TempDir& d, const std::string& out, const std::string& file) {
  auto gpt2 = saturn::FindGpt2Dir();
  REQUIRE(gpt2.ok());
  return d.write(file, "name: ex\noutput_dir: " + (d / out) +
                           "\ncluster: {device: cpu, device_memory_gib: 8, nodes: [{name: n, devices: 4}]}\njobs:\n" +
                           Job("a", *gpt2, "    techniques: [fsdp]\n    devices: [2]\n") +
                           Job("b", *gpt2, "    techniques: [ddp]\n    devices: [1, 2]\n    grid:\n"
                                           "      optimizer.lr: [1.0e-3, 3.0e-3]\n"));
}

std::string Plan(const TempDir& d, const std::string& sweep) {
  const std::string profile = d.write("profile.json", R"({"version": 1, "sweep": "ex", "records": [
 {"job": "a", "technique": "fsdp", "devices": 2, "feasible": true, "step_seconds": 1.0},
 {"job": "b.lr=1.0e-3", "technique": "ddp", "devices": 1, "feasible": true, "step_seconds": 1.5},
 {"job": "b.lr=1.0e-3", "technique": "ddp", "devices": 2, "feasible": true, "step_seconds": 1.0},
 {"job": "b.lr=3.0e-3", "technique": "ddp", "devices": 1, "feasible": true, "step_seconds": 1.5},
 {"job": "b.lr=3.0e-3", "technique": "ddp", "devices": 2, "feasible": true, "step_seconds": 1.0}]})");
  Run p = Saturn("plan " + sweep + " --profile " + profile + " -o " + (d / "plan.json") + " --time-limit 10");
  INFO(p.out);
  REQUIRE(p.code == 0);
  return d / "plan.json";
}

const char* const kJobs[] = {"a", "b.lr=1.0e-3", "b.lr=3.0e-3"};

// Each job trained alone with its planned technique and rank count (the reference).
void TrainAlone(const TempDir& d) {
  const std::string alone = Sweep(d, "alone", "alone.yaml");
  Run a = Shell(std::string(SATURN_MPIRUN) + " -n 2 " SATURN_BINARY " run " + alone + " --only a --technique fsdp --threads 1 -q");
  INFO(a.out);
  REQUIRE(a.code == 0);
  Run b = Saturn("run " + alone + " --only b.lr=1.0e-3 --only b.lr=3.0e-3 --technique ddp --threads 1 -q");
  INFO(b.out);
  REQUIRE(b.code == 0);
}

void CheckSameWeights(const TempDir& d, const std::string& out) {
  for (const char* j : kJobs) {
    INFO(j);
    auto got = saturn::ReadFile(d / out + "/" + j + "/final/model.safetensors");
    auto want = saturn::ReadFile(d / "alone" + "/" + j + "/final/model.safetensors");
    REQUIRE(got.ok());
    REQUIRE(want.ok());
    CHECK(*got == *want);
  }
}

json Load(const std::string& path) { return json::parse(*saturn::ReadFile(path)); }

// Starts `saturn ARGS` in the background (from a script, so that no shell's command line holds
// the arguments); its exit code is written to `rc`. Patterns for pgrep/pkill below spell
// "[s]aturn run SWEEP" so that they do not match the shell that runs pgrep either.
void Background(const TempDir& d, const std::string& args, const std::string& rc) {
  const std::string script = d.write("bg.sh", std::string(SATURN_BINARY) + " " + args + " > " + (d / "bg.out") +
                                                  " 2>&1\necho $? > " + rc + "\n");
  Shell("bash " + script + " > /dev/null 2>&1 &");
}

// Waits (up to 5 minutes) for `path` to exist.
void WaitFor(const std::string& path) {
  for (int i = 0; i < 3000 && !fs::exists(path); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  REQUIRE(fs::exists(path));
}

int ExitCode(const std::string& rc) {
  WaitFor(rc);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the line is written
  return std::stoi(*saturn::ReadFile(rc));
}

}  // namespace

TEST_CASE("saturn run --plan runs every job on its planned devices, and the weights equal each job run alone",
          "[execute]") {
  TempDir d;
  const std::string sweep = Sweep(d, "runs", "ex.yaml"), plan = Plan(d, sweep);
  Run dry = Saturn("run " + sweep + " --plan " + plan + " --dry-run --threads 1 " + kMpirun);
  INFO(dry.out);
  REQUIRE(dry.code == 0);
  CHECK_THAT(dry.out, Catch::Contains("a: fsdp x2 on n devices 0,1") && Catch::Contains("-n 2 ") &&
                          Catch::Contains("--only a --technique fsdp --slots 0,1 --threads 1") &&
                          Catch::Contains("nothing run (--dry-run)"));
  CHECK_FALSE(fs::exists(d / "runs"));

  TrainAlone(d);
  Run r = Saturn("run " + sweep + " --plan " + plan + " --threads 1 " + kMpirun);
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("ran 3 of 3 jobs"));
  CheckSameWeights(d, "runs");
  json report = Load(d / "runs/report.json");
  CHECK(report["jobs_finished"] == 3);
  CHECK(report["planned_makespan_seconds"].get<double>() == Approx(9.0));
  CHECK(report["actual_makespan_seconds"].get<double>() > 0);
  for (const json& j : report["job_results"]) {
    INFO(j.dump());
    CHECK(j["state"] == "finished");
    CHECK(j["attempts"] == 1);
    CHECK(j["final_loss"].is_number());
    CHECK(j["actual_end_seconds"].get<double>() > j["actual_start_seconds"].get<double>());
  }
  // The journal: the run, three starts and three finishes, the end.
  CHECK(Lines(d / "runs/journal.jsonl") == 8);

  // Run again: the journal is there, so --resume or --restart must say what to do.
  Run again = Saturn("run " + sweep + " --plan " + plan + " " + kMpirun);
  CHECK(again.code == 2);
  CHECK_THAT(again.out, Catch::Contains("journal.jsonl") && Catch::Contains("--resume"));
  Run done = Saturn("run " + sweep + " --plan " + plan + " --resume " + kMpirun);
  INFO(done.out);
  CHECK(done.code == 0);
  CHECK_THAT(done.out, Catch::Contains("a: finished in an earlier run"));
}

TEST_CASE("saturn run --plan: SIGTERM checkpoints every job and exits 143; --resume finishes with the same weights; "
          "a killed rank is retried from its checkpoint", "[execute]") {
  TempDir d;
  const std::string sweep = Sweep(d, "runs", "ex.yaml"), plan = Plan(d, sweep);
  TrainAlone(d);
  const std::string args = "run " + sweep + " --plan " + plan + " --threads 1 " + kMpirun;

  Background(d, args, d / "rc1");
  WaitFor(d / "runs/a/checkpoints/step-3");
  Shell("pkill -TERM -f '[s]aturn run " + sweep + " --plan'");
  CHECK(ExitCode(d / "rc1") == 143);
  INFO(*saturn::ReadFile(d / "bg.out"));
  // Every job stopped at a step boundary with a checkpoint, none finished past it.
  Run left = Shell("pgrep -af '[s]aturn run " + sweep + "' || true");
  CHECK(left.out.empty());
  const json stopped = Load(d / "runs/report.json");
  CHECK(stopped["jobs_finished"].get<int>() < 3);
  Run resumed = Saturn(args + " --resume");
  INFO(resumed.out);
  REQUIRE(resumed.code == 0);
  CheckSameWeights(d, "runs");

  // A rank killed outright (as the out-of-memory killer does): retried from its newest checkpoint.
  Background(d, args + " --restart", d / "rc2");
  WaitFor(d / "runs/b.lr=1.0e-3/checkpoints/step-3");
  Shell("pkill -KILL -f '[s]aturn run " + sweep + " --only b.lr=1.0e-3'");
  CHECK(ExitCode(d / "rc2") == 0);
  INFO(*saturn::ReadFile(d / "bg.out"));
  CheckSameWeights(d, "runs");
  const json report = Load(d / "runs/report.json");
  for (const json& j : report["job_results"])
    if (j["job"] == "b.lr=1.0e-3") {
      CHECK(j["attempts"] == 2);
      CHECK(j["state"] == "finished");
    }
}

TEST_CASE("saturn run --plan: bad input exits 2 naming the place", "[execute]") {
  TempDir d;
  const std::string sweep = Sweep(d, "runs", "ex.yaml"), plan = Plan(d, sweep);
  Run other = Saturn("run " + d.write("other.yaml", "name: other\n" + saturn::ReadFile(sweep)->substr(9)) + " --plan " +
                     plan + " " + kMpirun);
  CHECK(other.code == 2);
  CHECK_THAT(other.out, Catch::Contains("a plan of sweep 'ex'"));
  Run with_only = Saturn("run " + sweep + " --plan " + plan + " --only a");
  CHECK(with_only.code == 2);
  CHECK_THAT(with_only.out, Catch::Contains("--plan decides"));
  Run no_plan = Saturn("run " + sweep + " --plan " + (d / "missing.json"));
  CHECK(no_plan.code == 2);
  CHECK_THAT(no_plan.out, Catch::Contains("missing.json"));
  Run bad_slots = Saturn("run " + sweep + " --only a --slots 0,x");
  CHECK(bad_slots.code == 2);
  CHECK_THAT(bad_slots.out, Catch::Contains("--slots 0,x"));
  CHECK_FALSE(fs::exists(d / "runs/journal.jsonl"));
}
