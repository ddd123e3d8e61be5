// `saturn run SWEEP --plan PLAN.json` as a user runs it: a CPU "cluster" of 4 devices, three tiny
// jobs (fsdp on 2 ranks under a real mpirun, ddp on 1), planned from a canned profile. Every
// job's final weights equal, byte for byte, those of the job run alone with its technique, also
// after the orchestrator was stopped by SIGTERM and resumed, and after one of its jobs' ranks was
// killed and the job retried from its checkpoint.
#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "data/tokenizer.h"
#include "config/sweep.h"
#include "plan/plan.h"
#include "run/journal.h"
#include "run/report.h"
#include "run_util.h"
#include "util/files.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kMpirun = std::string("--launcher '") + SATURN_MPIRUN + "'";

std::string Job(const std::string& name, const std::string& gpt2, int steps, const std::string& more) {
  return "  - name: " + name + "\n    model: " SATURN_SOURCE_DIR "/models/gpt2-tiny.json\n"
         "    tokenizer: {kind: gpt2, path: " + gpt2 + "}\n    data: {train: " + Corpus() + "}\n"
         "    seq_len: 32\n    batch_size: 8\n    steps: " + std::to_string(steps) +
         "\n    checkpoint_every: 3\n    log_every: 1\n" + more;
}

const std::string kOneNode = "[{name: n, devices: 4}]";

// The sweep with its outputs in d/out; planned by a canned profile: a on 2 devices with fsdp,
// the two b jobs on one device each (other device counts when `a_devices`, `b_devices` say so).
std::string Sweep(const TempDir& d, const std::string& out, const std::string& file, int steps = 6,
                  const std::string& nodes = kOneNode, const std::string& b_devices = "[1, 2]",
                  const std::string& a_devices = "[2]") {
  auto gpt2 = saturn::FindGpt2Dir();
  REQUIRE(gpt2.ok());
  return d.write(file, "name: ex\noutput_dir: " + (d / out) + "\ncluster: {device: cpu, device_memory_gib: 8, nodes: " +
                           nodes + "}\njobs:\n" + Job("a", *gpt2, steps, "    techniques: [fsdp]\n    devices: " + a_devices + "\n") +
                           Job("b", *gpt2, steps, "    techniques: [ddp]\n    devices: " + b_devices + "\n    grid:\n"
                                           "      optimizer.lr: [1.0e-3, 3.0e-3]\n"));
}

const char* const kRecords = R"(
 {"job": "a", "technique": "fsdp", "devices": 2, "feasible": true, "step_seconds": 1.0},
 {"job": "b.lr=1.0e-3", "technique": "ddp", "devices": 1, "feasible": true, "step_seconds": 1.5},
 {"job": "b.lr=1.0e-3", "technique": "ddp", "devices": 2, "feasible": true, "step_seconds": 1.0},
 {"job": "b.lr=3.0e-3", "technique": "ddp", "devices": 1, "feasible": true, "step_seconds": 1.5},
 {"job": "b.lr=3.0e-3", "technique": "ddp", "devices": 2, "feasible": true, "step_seconds": 1.0})";

// The sweep planned from a canned profile of `records` (JSON objects, comma-separated).
std::string Plan(const TempDir& d, const std::string& sweep, const std::string& records = kRecords) {
  const std::string profile = d.write("profile.json", R"({"version": 1, "sweep": "ex", "records": [)" + records + "]}");
  Run p = Saturn("plan " + sweep + " --profile " + profile + " -o " + (d / "plan.json") + " --time-limit 10");
  INFO(p.out);
  REQUIRE(p.code == 0);
  return d / "plan.json";
}

const char* const kJobs[] = {"a", "b.lr=1.0e-3", "b.lr=3.0e-3"};

// Each job trained alone with its planned technique and rank count (the reference): a on
// `a_ranks`, b on `b_ranks`.
void TrainAlone(const TempDir& d, int steps = 6, int b_ranks = 1, int a_ranks = 2) {
  const std::string alone = Sweep(d, "alone", "alone.yaml", steps, kOneNode, "[1, 2]", "[" + std::to_string(a_ranks) + "]");
  Run a = Shell(std::string(SATURN_MPIRUN) + " -n " + std::to_string(a_ranks) + " " SATURN_BINARY " run " + alone +
                " --only a --technique fsdp --threads 1 -q");
  INFO(a.out);
  REQUIRE(a.code == 0);
  Run b = Shell((b_ranks > 1 ? std::string(SATURN_MPIRUN) + " -n " + std::to_string(b_ranks) + " " : std::string()) +
                SATURN_BINARY " run " + alone + " --only b.lr=1.0e-3 --only b.lr=3.0e-3 --technique ddp --threads 1 -q");
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
  CHECK_THAT(dry.out, Catch::Contains("a: fsdp x2 on n:0,1,") && Catch::Contains("-n 2 ") &&
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
  // Idle device-seconds: the node's 4 devices over the makespan, less what each launch held.
  double busy = 0;
  for (const json& j : report["job_results"]) {
    const double held = j["devices"].get<int>() * (j["actual_end_seconds"].get<double>() - j["actual_start_seconds"].get<double>());
    CHECK(j["device_seconds"].get<double>() == Approx(held));
    busy += held;
  }
  const double makespan = report["actual_makespan_seconds"].get<double>();
  CHECK(report["idle_device_seconds"].get<double>() == Approx(4 * makespan - busy).margin(1e-6));
  CHECK(report["idle_device_seconds"].get<double>() >= 0);
  // The journal: the run, three starts, each job's checkpoints at steps 3 and 6 (once each, the
  // newest first seen: at least one a job), three finishes, the end.
  const std::string journal = *saturn::ReadFile(d / "runs/journal.jsonl");
  size_t checkpoints = 0;
  for (size_t at = 0; (at = journal.find("\"event\":\"checkpoint\"", at)) != std::string::npos; ++at) ++checkpoints;
  CHECK(checkpoints >= 3);
  CHECK(checkpoints <= 6);
  CHECK(Lines(d / "runs/journal.jsonl") == 8 + checkpoints);
  for (const json& j : report["job_results"]) CHECK(j["checkpoint_step"] == 6);

  Run status = Saturn("status " + sweep);
  INFO(status.out);
  CHECK(status.code == 0);
  CHECK_THAT(status.out, Catch::Contains("3 of 3 jobs finished, 0 failed") && Catch::Contains("6/6") &&
                             Catch::Contains("fsdp x2") && Catch::Contains("no orchestrator is running"));
  CHECK(Saturn("status " + (d / "runs")).out == status.out);

  // Run again: the journal is there, so --resume or --restart must say what to do.
  Run again = Saturn("run " + sweep + " --plan " + plan + " " + kMpirun);
  CHECK(again.code == 2);
  CHECK_THAT(again.out, Catch::Contains("journal.jsonl") && Catch::Contains("--resume"));
  Run done = Saturn("run " + sweep + " --plan " + plan + " --resume " + kMpirun);
  INFO(done.out);
  CHECK(done.code == 0);
  CHECK_THAT(done.out, Catch::Contains("a: finished in an earlier run"));

  // The orchestrator killed outright: its jobs stop at a checkpoint (they get SIGUSR1 as it dies),
  // and --resume finishes the sweep with the same weights.
  fs::remove_all(d / "runs");
  Background(d, "run " + sweep + " --plan " + plan + " --threads 1 " + kMpirun, d / "rc");
  WaitFor(d / "runs/a/checkpoints/step-3");
  Shell("pkill -KILL -f '[s]aturn run " + sweep + " --plan'");
  CHECK(ExitCode(d / "rc") == 137);
  for (int i = 0; i < 300 && !Shell("pgrep -f '[s]aturn run " + sweep + "'").out.empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Run after_kill = Saturn("run " + sweep + " --plan " + plan + " --threads 1 --resume " + kMpirun);
  INFO(after_kill.out);
  REQUIRE(after_kill.code == 0);
  CheckSameWeights(d, "runs");
}

TEST_CASE("saturn run --plan: SIGTERM checkpoints every job and exits 143 / --resume finishes with the same weights / "
          "a killed rank is retried from its checkpoint", "[execute]") {
  TempDir d;
  // Long enough that a signal after the first checkpoint finds every job still training.
  const std::string sweep = Sweep(d, "runs", "ex.yaml", 15), plan = Plan(d, sweep);
  TrainAlone(d, 15);
  const std::string args = "run " + sweep + " --plan " + plan + " --threads 1 " + kMpirun;

  const auto began = std::chrono::steady_clock::now();
  Background(d, args, d / "rc1");
  // Every job has logged a step, and none is near its end (b's on one rank run faster than a on
  // two, the more so on a loaded machine: waiting for a's first checkpoint let one b finish).
  for (const char* j : kJobs) WaitFor(d / "runs" + "/" + j + "/metrics.jsonl");
  // While it runs: a second orchestrator on the sweep is refused; status says running.
  Run second = Saturn(args + " --resume");
  CHECK(second.code == 2);
  CHECK_THAT(second.out, Catch::Contains("sweep 'ex' is being run by saturn pid"));
  Run running = Saturn("status " + sweep);
  INFO(running.out);
  CHECK(running.code == 3);
  CHECK_THAT(running.out, Catch::Contains("running") && Catch::Contains("being run by saturn pid"));
  // The makespan so far, against the plan's: seconds since the run began.
  std::smatch so_far;
  REQUIRE(std::regex_search(running.out, so_far, std::regex("planned makespan [0-9]+s, ([0-9]+)s so far")));
  const double since = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  CHECK(std::stoi(so_far[1]) <= since + 1);
  Shell("pkill -TERM -f '[s]aturn run " + sweep + " --plan'");
  CHECK(ExitCode(d / "rc1") == 143);
  INFO(*saturn::ReadFile(d / "bg.out"));
  Run left = Shell("pgrep -af '[s]aturn run " + sweep + "' || true");
  CHECK(left.out.empty());
  // Every job stopped at a step boundary before its end, with a checkpoint of that step.
  for (const char* j : kJobs) {
    INFO(j);
    const std::string log = *saturn::ReadFile(d / "runs" + "/" + j + "/run.log");
    std::smatch m;
    REQUIRE(std::regex_search(log, m, std::regex("stopped after step ([0-9]+) of 15")));
    CHECK(std::stoi(m[1]) < 15);
    CHECK(fs::exists(d / "runs" + "/" + j + "/checkpoints/step-" + m[1].str()));
  }
  CHECK_THAT(*saturn::ReadFile(d / "runs/journal.jsonl"), Catch::Contains("\"event\":\"signal\""));
  const json stopped = Load(d / "runs/report.json");
  for (const json& j : stopped["job_results"]) CHECK(j["state"] == "interrupted");
  Run interrupted = Saturn("status " + sweep);
  INFO(interrupted.out);
  CHECK(interrupted.code == 3);
  CHECK_THAT(interrupted.out, Catch::Contains("interrupted") && Catch::Contains("no orchestrator is running"));
  Run resumed = Saturn(args + " --resume");
  INFO(resumed.out);
  REQUIRE(resumed.code == 0);
  CheckSameWeights(d, "runs");

  // One rank of the fsdp job killed outright (as the out-of-memory killer does): mpirun ends the
  // job, which is launched again from its newest checkpoint.
  fs::remove_all(d / "runs");
  Background(d, args, d / "rc2");
  WaitFor(d / "runs/a/checkpoints/step-3");
  Shell("pkill -KILL -n -f '[s]aturn run " + sweep + " --only a '");
  CHECK(ExitCode(d / "rc2") == 0);
  INFO(*saturn::ReadFile(d / "bg.out"));
  CheckSameWeights(d, "runs");
  const json retried = Load(d / "runs/report.json");
  for (const json& j : retried["job_results"]) {
    CHECK(j["state"] == "finished");
    CHECK(j["attempts"] == (j["job"] == "a" ? 2 : 1));
  }

  // No retries left: the job is failed, the others finish, the orchestrator exits 1 naming it,
  // and status says failed (never finished) with the end of its log.
  fs::remove_all(d / "runs");
  Background(d, args + " --max-retries 0", d / "rc3");
  WaitFor(d / "runs/b.lr=1.0e-3/checkpoints/step-3");
  Shell("pkill -KILL -f '[s]aturn run " + sweep + " --only b.lr=1.0e-3 '");
  CHECK(ExitCode(d / "rc3") == 1);
  CHECK_THAT(*saturn::ReadFile(d / "bg.out"), Catch::Contains("1 job(s) failed: b.lr=1.0e-3"));
  Run failed = Saturn("status " + sweep);
  INFO(failed.out);
  CHECK(failed.code == 1);
  CHECK_THAT(failed.out, Catch::Contains("2 of 3 jobs finished, 1 failed") && Catch::Contains("b.lr=1.0e-3 failed") &&
                             Catch::Contains("run.log"));
  const json one_failed = Load(d / "runs/report.json");
  for (const json& j : one_failed["job_results"])
    CHECK(j["state"] == (j["job"] == "b.lr=1.0e-3" ? "failed" : "finished"));
}

TEST_CASE("saturn run --plan on two nodes: each job on its node's host (mpirun --host), a job across both, same "
          "weights / a node outside the Slurm allocation is refused", "[execute]") {
  TempDir d;
  // Two "hosts" that are both this machine, as Open MPI sees them: no ssh, but every launch names
  // its nodes' hosts. On two nodes of 2 devices: a with fsdp on all 4 (across both nodes), the b
  // jobs with ddp on 2, one per node.
  const std::string nodes = "[{name: left, devices: 2, host: localhost}, {name: right, devices: 2, host: 127.0.0.1}]";
  const std::string sweep = Sweep(d, "runs", "ex.yaml", 6, nodes, "[2]", "[4]");
  const std::string plan = Plan(d, sweep, R"(
 {"job": "a", "technique": "fsdp", "devices": 4, "feasible": true, "step_seconds": 1.0},
 {"job": "b.lr=1.0e-3", "technique": "ddp", "devices": 2, "feasible": true, "step_seconds": 1.0},
 {"job": "b.lr=3.0e-3", "technique": "ddp", "devices": 2, "feasible": true, "step_seconds": 1.0})");
  Run dry = Saturn("run " + sweep + " --plan " + plan + " --dry-run --threads 1 " + kMpirun);
  INFO(dry.out);
  REQUIRE(dry.code == 0);
  CHECK_THAT(dry.out, Catch::Contains("a: fsdp x4 on left:0,1+right:0,1") && Catch::Contains("on left:0,1,") &&
                          Catch::Contains("on right:0,1,") && Catch::Contains("--host localhost:2,127.0.0.1:2 -n 4 ") &&
                          Catch::Contains("--host localhost:2 -n 2 ") && Catch::Contains("--host 127.0.0.1:2 -n 2 "));
  // Across nodes each rank's slot is its local rank.
  CHECK_THAT(dry.out, Catch::Contains("--only a --technique fsdp --slots local --threads 1"));

  TrainAlone(d, 6, /*b_ranks=*/2, /*a_ranks=*/4);
  // On a terminal (script(1) gives it one) each running job's line is redrawn in place.
  const std::string cmd = std::string(SATURN_BINARY) + " run " + sweep + " --plan " + plan + " --threads 1 " + kMpirun;
  Run r = Shell("script -qfec \"" + cmd + "\" /dev/null");
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("\033[J") && Catch::Contains("a: fsdp x4 on left:0,1+right:0,1, step ") &&
                        Catch::Contains("tok/s, ETA ") && Catch::Contains("ran 3 of 3 jobs"));
  CheckSameWeights(d, "runs");
  std::set<std::string> started_on;
  auto events = saturn::ReadJournal(d / "runs/journal.jsonl");
  REQUIRE(events.ok());
  for (const json& e : *events)
    if (e["event"] == "start") started_on.insert(e["node"].get<std::string>());
  CHECK(started_on == std::set<std::string>{"left", "right"});
  const json report = Load(d / "runs/report.json");
  for (const json& j : report["job_results"])
    if (j["job"] == "a") CHECK(j["placement"].size() == 2);
  Run status = Saturn("status " + sweep);
  CHECK_THAT(status.out, Catch::Contains("left:0,1+right:0,1"));

  // Inside a Slurm allocation of one node, the plan's second node is out of reach: refused
  // before anything runs, naming the job, the node and the allocation.
  Run outside = Shell("SLURM_JOB_ID=77 SLURM_JOB_NODELIST=gpu1 SLURMD_NODENAME=gpu1 " SATURN_BINARY " run " + sweep +
                      " --plan " + plan + " --dry-run");
  INFO(outside.out);
  CHECK(outside.code == 2);
  CHECK_THAT(outside.out, Catch::Contains("is planned on node 'right'") && Catch::Contains("Slurm job 77's nodes gpu1") &&
                              Catch::Contains("sbatch --nodes"));
  // With two nodes, in order: the commands pin each job's step to its node.
  Run inside = Shell("SLURM_JOB_ID=77 SLURM_JOB_NODELIST='gpu[1-2]' SLURMD_NODENAME=gpu1 " SATURN_BINARY " run " + sweep +
                     " --plan " + plan + " --dry-run");
  INFO(inside.out);
  CHECK(inside.code == 0);
  CHECK_THAT(inside.out, Catch::Contains("srun ") && Catch::Contains("--nodelist=gpu1 ") && Catch::Contains("--nodelist=gpu2 ") &&
                             Catch::Contains("--nodes=2 --ntasks=4 --ntasks-per-node=2") &&
                             Catch::Contains("--nodelist=gpu1,gpu2 "));
}

TEST_CASE("the journal: a line cut short by a crash is dropped, and the next run appends after whole lines",
          "[execute]") {
  TempDir d;
  const std::string path = d.write("journal.jsonl", "{\"event\":\"run\",\"time\":1}\n{\"event\":\"sta");
  auto events = saturn::ReadJournal(path);
  REQUIRE(events.ok());
  CHECK(events->size() == 1);
  {
    auto j = saturn::Journal::Open(path);
    REQUIRE(j.ok());
    REQUIRE(j->Append({{"event", "finish"}, {"job", "a"}}).ok());
  }
  events = saturn::ReadJournal(path);
  REQUIRE(events.ok());
  REQUIRE(events->size() == 2);
  CHECK((*events)[1]["event"] == "finish");
  CHECK((*events)[1]["time"].is_number());
  // Damage in the middle is an error naming the line.
  d.write("bad.jsonl", "{\"event\":\"run\"}\nnot json\n{\"event\":\"end\"}\n");
  auto bad = saturn::ReadJournal(d / "bad.jsonl");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("bad.jsonl:2"));
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
  // The sweep edited since it was planned: refused before anything runs, naming the job's line.
  Run longer = Saturn("run " + Sweep(d, "runs", "longer.yaml", 9) + " --plan " + plan + " " + kMpirun);
  CHECK(longer.code == 2);
  CHECK_THAT(longer.out, Catch::Contains("longer.yaml:") && Catch::Contains("job 'a' trains 9 steps, but " + plan + " planned 6"));
  Run resized = Saturn("run " + Sweep(d, "runs", "resized.yaml", 6, "[{name: n, devices: 3}]") + " --plan " + plan + " " + kMpirun);
  CHECK(resized.code == 2);
  CHECK_THAT(resized.out, Catch::Contains("node 'n' has 4 device(s) in the plan, but " + (d / "resized.yaml") + ":3:") &&
                              Catch::Contains("gives it 3 device(s); plan this sweep again"));
  Run bad_slots = Saturn("run " + sweep + " --only a --slots 0,x");
  CHECK(bad_slots.code == 2);
  CHECK_THAT(bad_slots.out, Catch::Contains("--slots 0,x"));
  CHECK_FALSE(fs::exists(d / "runs/journal.jsonl"));
  Run no_journal = Saturn("status " + sweep);
  CHECK(no_journal.code == 2);
  CHECK_THAT(no_journal.out, Catch::Contains("journal.jsonl: no journal"));
}

namespace {

// Four one-device jobs on two devices, planned by a profile that is wrong about two of them:
// "long" really trains far longer than planned and "short" far shorter. The plan puts c or d
// after long on device 0, so device 1 goes idle while it waits.
std::string ReplanSweep(const TempDir& d, const std::string& out) {
  auto gpt2 = saturn::FindGpt2Dir();
  REQUIRE(gpt2.ok());
  const std::string one = "    techniques: [ddp]\n    devices: [1]\n";
  return d.write(out + ".yaml", "name: rp\noutput_dir: " + (d / out) +
                                    "\ncluster: {device: cpu, device_memory_gib: 8, nodes: [{name: n, devices: 2}]}\n"
                                    "jobs:\n" + Job("long", *gpt2, 30, one) + Job("short", *gpt2, 2, one) +
                                    Job("c", *gpt2, 2, one) + Job("d", *gpt2, 2, one));
}

std::string ReplanPlan(const TempDir& d, const std::string& sweep) {
  const std::string profile = d.write("rp-profile.json", R"({"version": 1, "sweep": "rp", "records": [
 {"job": "long", "technique": "ddp", "devices": 1, "feasible": true, "step_seconds": 0.3333},
 {"job": "short", "technique": "ddp", "devices": 1, "feasible": true, "step_seconds": 5.0},
 {"job": "c", "technique": "ddp", "devices": 1, "feasible": true, "step_seconds": 2.5},
 {"job": "d", "technique": "ddp", "devices": 1, "feasible": true, "step_seconds": 2.5}]})");
  Run p = Saturn("plan " + sweep + " --profile " + profile + " -o " + (d / "rp-plan.json") + " --policy greedy");
  INFO(p.out);
  REQUIRE(p.code == 0);
  return d / "rp-plan.json";
}

// The device ids of each job's last start in the journal.
std::map<std::string, json> StartedOn(const std::string& journal) {
  std::map<std::string, json> on;
  const auto events = saturn::ReadJournal(journal);
  REQUIRE(events.ok());
  for (const json& e : *events)
    if (e["event"] == "start") on[e["job"]] = e["device_ids"];
  return on;
}

}  // namespace

TEST_CASE("saturn run --plan re-plans as jobs end early or late: a waiting job moves to the device that freed, the "
          "re-plan is saved and journaled, survives a resume, and --no-replan keeps the plan",
          "[execute]") {
  TempDir d;
  const std::string sweep = ReplanSweep(d, "runs"), plan = ReplanPlan(d, sweep);
  // The one of c and d planned after long on device 0.
  std::string late;
  const json planned = Load(plan);
  for (const json& j : planned["jobs"])
    if ((j["job"] == "c" || j["job"] == "d") && j["placement"][0]["devices"] == json::array({0})) late = j["job"];
  REQUIRE(!late.empty());

  // Stopped by SIGTERM once a re-plan is adopted, then resumed: the jobs not yet started keep
  // the re-plan's devices. The move saves the moved job's planned seconds out of what long has
  // left, measured: on a slower machine (6x under the sanitizers) long has more left and the
  // share saved falls below the default 5%, so the test asks for 1%.
  const std::string args = "run " + sweep + " --plan " + plan + " --threads 1 --replan-threshold 0.01 " + kMpirun;
  Background(d, args, d / "rc1");
  for (int i = 0; i < 3000; ++i) {
    auto j = saturn::ReadFile(d / "runs/journal.jsonl");
    if (j.ok() && j->find("\"event\":\"plan\"") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Shell("pkill -TERM -f '[s]aturn run " + sweep + " --plan'");
  CHECK(ExitCode(d / "rc1") == 143);
  INFO(*saturn::ReadFile(d / "bg.out"));
  CHECK_THAT(*saturn::ReadFile(d / "bg.out"), Catch::Contains("re-planned at") && Catch::Contains(late + ": ddp x1 on n:1"));
  // Launched before the stop or still waiting, the moved job is where the re-plan put it.
  const json stopped = Load(d / "runs/report.json");
  for (const json& j : stopped["job_results"])
    if (j["job"] == late) CHECK(j["device_ids"] == json::array({1}));
  CHECK_THAT(Saturn("status " + sweep).out, Catch::Contains(late) && Catch::Contains("n:1 "));
  Run resumed = Saturn(args + " --resume");
  INFO(resumed.out);
  REQUIRE(resumed.code == 0);
  std::map<std::string, json> on = StartedOn(d / "runs/journal.jsonl");
  CHECK(on["long"] == json::array({0}));
  CHECK(on[late] == json::array({1}));
  const json report = Load(d / "runs/report.json");
  REQUIRE(report["plans_adopted"].size() >= 1);
  CHECK(report["plans_adopted"][0]["path"] == d / "runs/plan-1.json");
  CHECK(report["plans_adopted"][0]["new_seconds"].get<double>() < report["plans_adopted"][0]["kept_seconds"].get<double>());
  for (const json& j : report["job_results"]) {
    CHECK(j["state"] == "finished");
    if (j["job"] == late) CHECK(j["device_ids"] == json::array({1}));
  }
  Run status = Saturn("status " + sweep);
  CHECK(status.code == 0);
  CHECK_THAT(status.out, Catch::Contains("n:1"));
  // The views for people: the re-plan in report.md, every launch in the executed chart (the
  // ones SIGTERM stopped hatched), every job's loss curve.
  const std::string md = *saturn::ReadFile(d / "runs/report.md");
  CHECK_THAT(md, Catch::Contains("| " + late + " | finished | ddp x1 | n:1 (planned n:0) |") &&
                     Catch::Contains("## Re-plans adopted") && Catch::Contains(late + ": ddp x1 on n:1") &&
                     Catch::Contains("](" + d / "rp-plan.svg)"));
  const std::string executed = *saturn::ReadFile(d / "runs/executed.svg");
  CHECK_THAT(executed, Catch::Contains("<title>long (ddp x1): ") && Catch::Contains("stopped</title>") &&
                           Catch::Contains("fill=\"url(#cut)\""));
  const std::string loss = *saturn::ReadFile(d / "runs/loss.svg");
  size_t curves = 0;
  for (size_t at = 0; (at = loss.find("<polyline", at)) != std::string::npos; ++at) ++curves;
  CHECK(curves == 4);

  // The saved state re-plans to the same plan from the command line.
  Run again = Saturn("plan --from-state " + (d / "runs/state-1.json") + " -o " + (d / "again.json"));
  INFO(again.out);
  REQUIRE(again.code == 0);
  const json adopted = Load(d / "runs/plan-1.json"), replayed = Load(d / "again.json");
  CHECK(adopted["jobs"] == replayed["jobs"]);
  CHECK(adopted["instance"]["reserved"] == replayed["instance"]["reserved"]);

  // --no-replan follows the plan: that job waits for long on device 0, and nothing is re-planned.
  const std::string fixed = ReplanSweep(d, "fixed");
  Run kept = Saturn("run " + fixed + " --plan " + plan + " --threads 1 --no-replan --status-every 1 " + kMpirun);
  INFO(kept.out);
  REQUIRE(kept.code == 0);
  CHECK_THAT(kept.out, !Catch::Contains("re-planned"));
  // Not a terminal: plain lines of the running jobs every --status-every seconds, no escapes.
  CHECK_THAT(kept.out, Catch::Contains("run: long: ddp x1 on n:0, step ") && !Catch::Contains("\033["));
  CHECK(StartedOn(d / "fixed/journal.jsonl")[late] == json::array({0}));
  CHECK_FALSE(fs::exists(d / "fixed/plan-1.json"));
  // Where a job ran does not change what it learned.
  for (const char* j : {"long", "short", "c", "d"}) {
    INFO(j);
    CHECK(*saturn::ReadFile(d / "runs" + "/" + j + "/final/model.safetensors") ==
          *saturn::ReadFile(d / "fixed" + "/" + j + "/final/model.safetensors"));
  }
}

namespace {

// Five jobs for the whole loop, each technique among them by construction: pipe may only use
// pipeline, shard only fsdp, rep only ddp; the grid's two jobs may use ddp or pipeline on 1 or 2
// devices, as the plan finds best.
std::string LoopSweep(const TempDir& d, const std::string& out, const std::string& file) {
  auto gpt2 = saturn::FindGpt2Dir();
  REQUIRE(gpt2.ok());
  return d.write(file, "name: loop\noutput_dir: " + (d / out) +
                           "\ncluster: {device: cpu, device_memory_gib: 8, nodes: " + kOneNode + "}\njobs:\n" +
                           Job("pipe", *gpt2, 6, "    techniques: [pipeline]\n    devices: [2]\n") +
                           Job("shard", *gpt2, 6, "    techniques: [fsdp]\n    devices: [2]\n") +
                           Job("rep", *gpt2, 6, "    techniques: [ddp]\n    devices: [1, 2]\n") +
                           Job("g", *gpt2, 6, "    techniques: [ddp, pipeline]\n    devices: [1, 2]\n    grid:\n"
                                                  "      optimizer.lr: [1.0e-3, 3.0e-3]\n"));
}

}  // namespace

TEST_CASE("Saturn's loop on a CPU cluster of 4 devices: saturn profile measures five jobs, saturn plan picks among "
          "ddp, fsdp and pipeline, saturn run --plan runs them, and each job's weights equal the job run alone with "
          "its planned technique",
          "[execute]") {
  TempDir d;
  const std::string sweep = LoopSweep(d, "runs", "loop.yaml");
  Run prof = Saturn("profile " + sweep + " -o " + (d / "profile.json") + " --warmup 1 --steps 2 --threads 1 --no-links " +
                    kMpirun);
  INFO(prof.out);
  REQUIRE(prof.code == 0);
  // Every record measured on real ranks, none estimated or failed.
  const json profile = Load(d / "profile.json");
  std::set<std::string> measured;
  for (const json& r : profile["records"]) {
    INFO(r.dump());
    CHECK(r["feasible"] == true);
    CHECK(r["step_seconds"].get<double>() > 0);
    measured.insert(r["job"].get<std::string>() + " " + r["technique"].get<std::string>() + " x" +
                    std::to_string(r["devices"].get<int>()));
  }
  // One trial per (cost key, technique, device count), under the first job that has it: the five
  // jobs share a cost key, so g is measured only for what no job before it allows.
  CHECK(measured == std::set<std::string>{"pipe pipeline x2", "shard fsdp x2", "rep ddp x1", "rep ddp x2",
                                          "g.lr=1.0e-3 pipeline x1"});

  Run planned = Saturn("plan " + sweep + " --profile " + (d / "profile.json") + " -o " + (d / "plan.json") +
                       " --time-limit 10");
  INFO(planned.out);
  REQUIRE(planned.code == 0);
  Run r = Saturn("run " + sweep + " --plan " + (d / "plan.json") + " --threads 1 " + kMpirun);
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("ran 5 of 5 jobs"));

  // The reference: each job alone, on as many ranks as planned, with the planned technique and
  // knobs, outside the orchestrator.
  const std::string alone = LoopSweep(d, "alone", "alone.yaml");
  std::set<std::string> techniques;
  const json plan = Load(d / "plan.json");
  REQUIRE(plan["jobs"].size() == 5);
  for (const json& j : plan["jobs"]) {
    const std::string job = j["job"], technique = j["technique"];
    const int ranks = j["devices"];
    INFO(job + ": " + technique + " x" + std::to_string(ranks));
    techniques.insert(technique);
    std::string cmd = (ranks > 1 ? std::string(SATURN_MPIRUN) + " -n " + std::to_string(ranks) + " " : std::string()) +
                      SATURN_BINARY " run " + alone + " --only " + job + " --technique " + technique + " --threads 1 -q";
    if (!j["knobs"].empty()) cmd += " --knobs '" + j["knobs"].dump() + "'";
    Run ref = Shell(cmd);
    INFO(ref.out);
    REQUIRE(ref.code == 0);
    auto got = saturn::ReadFile(d / "runs" + "/" + job + "/final/model.safetensors");
    auto want = saturn::ReadFile(d / "alone" + "/" + job + "/final/model.safetensors");
    REQUIRE(got.ok());
    REQUIRE(want.ok());
    CHECK(*got == *want);
  }
  CHECK(techniques.count("ddp") == 1);
  CHECK(techniques.count("fsdp") == 1);
  CHECK(techniques.count("pipeline") == 1);
  const json report = Load(d / "runs/report.json");
  for (const json& j : report["job_results"]) {
    INFO(j.dump());
    CHECK(j["state"] == "finished");
    CHECK(j["attempts"] == 1);
  }
}

TEST_CASE("saturn run --plan takes devices where two jobs failed out of use: the next job moves off them, same weights",
          "[execute]") {
  TempDir d;
  // b only on 2 devices: a and b.lr=1.0e-3 start on a pair each; b.lr=3.0e-3 follows one of them.
  const std::string sweep = Sweep(d, "runs", "ex.yaml");
  const std::string plan = Plan(d, sweep, R"(
 {"job": "a", "technique": "fsdp", "devices": 2, "feasible": true, "step_seconds": 1.0},
 {"job": "b.lr=1.0e-3", "technique": "ddp", "devices": 2, "feasible": true, "step_seconds": 1.0})");
  std::string broken, first;  // the pair b.lr=3.0e-3 is planned on, and the job before it there
  const json planned = Load(plan);
  for (const json& j : planned["jobs"])
    if (j["job"] == "b.lr=3.0e-3") broken = j["placement"][0]["devices"].dump();
  for (const json& j : planned["jobs"])
    if (j["job"] != "b.lr=3.0e-3" && j["placement"][0]["devices"].dump() == broken) first = j["job"];
  REQUIRE(!first.empty());
  const std::string slots = broken.substr(1, broken.size() - 2);  // "[2,3]" -> "2,3"
  // A launcher for which that pair is broken: every launch there fails at once.
  const std::string launcher = d.write("broken.sh", "for a in \"$@\"; do\n  if [ \"$prev\" = --slots ] && [ \"$a\" = " +
                                                        slots + " ]; then echo 'CUDA error: uncorrectable ECC error' >&2; "
                                                        "exit 1; fi\n  prev=$a\ndone\nexec " SATURN_MPIRUN " \"$@\"\n");
  TrainAlone(d, 6, /*b_ranks=*/2);
  Run r = Saturn("run " + sweep + " --plan " + plan + " --threads 1 --max-retries 1 --launcher 'bash " + launcher + "'");
  INFO(r.out);
  // The job first on the broken pair fails twice and runs out of retries; one job failing there
  // does not condemn the devices. The second job failing there does: the pair is taken out of
  // use, and b.lr=3.0e-3 is re-planned onto the other pair.
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("1 job(s) failed: " + first) && Catch::Contains("taking n:" + slots + " out of use") &&
                        Catch::Contains("without the devices out of use (n:" + slots + ")") &&
                        Catch::Contains("ran 2 of 3 jobs"));
  std::vector<json> starts;
  int excludes = 0;
  const auto journal = saturn::ReadJournal(d / "runs/journal.jsonl");
  REQUIRE(journal.ok());
  for (const json& e : *journal) {
    if (e["event"] == "start" && e["job"] == "b.lr=3.0e-3") starts.push_back(e);
    if (e["event"] == "exclude") {
      ++excludes;
      CHECK(e["placement"] == json::array({{{"node", "n"}, {"device_ids", json::parse(broken)}}}));
      CHECK((e["jobs"] == json::array({first, "b.lr=3.0e-3"}) || e["jobs"] == json::array({"b.lr=3.0e-3", first})));
    }
  }
  CHECK(excludes == 1);
  REQUIRE(starts.size() == 2);
  CHECK(starts[0]["device_ids"] == json::parse(broken));
  CHECK(starts[1]["device_ids"] != json::parse(broken));
  CHECK_THAT(*saturn::ReadFile(d / "runs/plan-1.json"), Catch::Contains("\"out_of_use\": true"));
  const json report = Load(d / "runs/report.json");
  REQUIRE(report["excluded_devices"].size() == 1);
  CHECK(report["excluded_devices"][0]["where"] == "n:" + slots);
  for (const json& j : report["job_results"]) {
    INFO(j.dump());
    CHECK(j["state"] == (j["job"] == first ? "failed" : "finished"));
    if (j["job"] != first) {
      const std::string job = j["job"];
      CHECK(*saturn::ReadFile(d / "runs" + "/" + job + "/final/model.safetensors") ==
            *saturn::ReadFile(d / "alone" + "/" + job + "/final/model.safetensors"));
    }
  }
  CHECK_THAT(*saturn::ReadFile(d / "runs/report.md"), Catch::Contains("## Devices taken out of use"));
  CHECK_THAT(Saturn("status " + sweep).out, Catch::Contains("out of use: n:" + slots + " (launches of "));
  CHECK_THAT(*saturn::ReadFile(d / "runs" + "/" + first + "/run.log"), Catch::Contains("uncorrectable ECC error"));

  // --resume remembers the devices out of use (the journal says so): the failed job, still
  // planned there, is re-planned onto the other pair and finishes.
  Run resumed = Saturn("run " + sweep + " --plan " + plan + " --threads 1 --max-retries 1 --resume --launcher 'bash " +
                       launcher + "'");
  INFO(resumed.out);
  CHECK(resumed.code == 0);
  CHECK_THAT(resumed.out, Catch::Contains("started " + first + ": ") && !Catch::Contains("failed ("));
  const json after = Load(d / "runs/report.json");
  for (const json& j : after["job_results"]) {
    INFO(j.dump());
    CHECK(j["state"] == "finished");
    if (j["job"] == first) CHECK(j["device_ids"] != json::parse(broken));
  }
  CHECK(*saturn::ReadFile(d / "runs" + "/" + first + "/final/model.safetensors") ==
        *saturn::ReadFile(d / "alone" + "/" + first + "/final/model.safetensors"));

  // --exclude-after 0: nothing is taken out of use, and b.lr=3.0e-3 fails on the broken pair too.
  const std::string kept = Sweep(d, "kept", "kept.yaml");
  Run never = Saturn("run " + kept + " --plan " + plan + " --threads 1 --max-retries 1 --exclude-after 0 --launcher 'bash " +
                     launcher + "'");
  INFO(never.out);
  CHECK(never.code == 1);
  CHECK_THAT(never.out, Catch::Contains("2 job(s) failed") && !Catch::Contains("out of use"));

  // --no-replan: the pair goes out of use, and b.lr=3.0e-3, which nothing will move off it, fails
  // there rather than being launched on it again.
  const std::string fixed = Sweep(d, "fixed", "fixed.yaml");
  Run no_replan = Saturn("run " + fixed + " --plan " + plan + " --threads 1 --max-retries 1 --no-replan --launcher 'bash " +
                         launcher + "'");
  INFO(no_replan.out);
  CHECK(no_replan.code == 1);
  CHECK_THAT(no_replan.out, Catch::Contains("2 job(s) failed") && Catch::Contains("--no-replan keeps the plan"));
  int launches = 0;
  const auto fixed_journal = saturn::ReadJournal(d / "fixed/journal.jsonl");
  REQUIRE(fixed_journal.ok());
  for (const json& e : *fixed_journal) launches += e["event"] == "start" && e["job"] == "b.lr=3.0e-3";
  CHECK(launches == 1);
}

TEST_CASE("saturn run --auto profiles, plans and executes the sweep in its output directory, and --resume reuses the plan",
          "[execute]") {
  TempDir d;
  const std::string sweep = Sweep(d, "runs", "ex.yaml");
  const std::string args = "run " + sweep + " --auto --threads 1 " + kMpirun;
  Run r = Saturn(args);
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("profile: ran ") && Catch::Contains("ran 3 of 3 jobs"));
  const json profile = Load(d / "runs/profile.json"), plan = Load(d / "runs/plan.json");
  CHECK(profile["records"].size() == 3);  // a fsdp x2; b (one cost key) ddp x1 and x2
  const auto journal = saturn::ReadJournal(d / "runs/journal.jsonl");
  REQUIRE(journal.ok());
  REQUIRE(!journal->empty());
  CHECK(journal->front()["plan"] == d / "runs/plan.json");
  // The weights are those of each job alone with the technique and ranks its plan chose.
  const std::string alone = Sweep(d, "alone", "alone.yaml");
  for (const json& j : plan["jobs"]) {
    const std::string job = j["job"], technique = j["technique"];
    const int ranks = j["devices"];
    std::string cmd = (ranks > 1 ? std::string(SATURN_MPIRUN) + " -n " + std::to_string(ranks) + " " : std::string()) +
                      SATURN_BINARY " run " + alone + " --only " + job + " --technique " + technique + " --threads 1 -q";
    if (!j["knobs"].empty()) cmd += " --knobs '" + j["knobs"].dump() + "'";
    REQUIRE(Shell(cmd).code == 0);
    CHECK(*saturn::ReadFile(d / "runs" + "/" + job + "/final/model.safetensors") ==
          *saturn::ReadFile(d / "alone" + "/" + job + "/final/model.safetensors"));
  }

  // Again: the journal says what to do; --resume executes the same plan without profiling.
  Run again = Saturn(args);
  CHECK(again.code == 2);
  CHECK_THAT(again.out, Catch::Contains("--resume"));
  const auto planned_at = fs::last_write_time(d / "runs/plan.json");
  Run resumed = Saturn(args + " --resume");
  INFO(resumed.out);
  CHECK(resumed.code == 0);
  CHECK_THAT(resumed.out, Catch::Contains("a: finished in an earlier run") && !Catch::Contains("profile: "));
  CHECK(fs::last_write_time(d / "runs/plan.json") == planned_at);
  CHECK(Saturn("run " + sweep + " --auto --plan " + (d / "runs/plan.json")).code == 2);
  // Options the orchestrator refuses are refused before any profiling.
  Run only = Saturn("run " + sweep + " --auto --restart --only a");
  CHECK(only.code == 2);
  CHECK_THAT(only.out, Catch::Contains("drop --only") && !Catch::Contains("profile: "));
}

namespace {

// "long" trains on one device while "short" takes the other; the profile says long would run
// ten times faster on both, but that it ends before short, so the plan runs them side by side.
// Once short ends, moving long onto both devices pays.
std::string MoveSweep(const TempDir& d, const std::string& out, int long_steps) {
  auto gpt2 = saturn::FindGpt2Dir();
  REQUIRE(gpt2.ok());
  return d.write(out + ".yaml", "name: mv\noutput_dir: " + (d / out) +
                                    "\ncluster: {device: cpu, device_memory_gib: 8, nodes: [{name: n, devices: 2}]}\n"
                                    "jobs:\n" + Job("long", *gpt2, long_steps, "    techniques: [ddp]\n    devices: [1, 2]\n") +
                                    Job("short", *gpt2, 3, "    techniques: [ddp]\n    devices: [1]\n"));
}

}  // namespace

TEST_CASE("saturn run --replan-move moves a running job at a checkpoint when that ends the sweep sooner, and it "
          "continues where it stopped",
          "[execute]") {
  TempDir d;
  const int steps = 40;
  const std::string sweep = MoveSweep(d, "runs", steps);
  const std::string profile = d.write("mv-profile.json", R"({"version": 1, "sweep": "mv", "records": [
 {"job": "long", "technique": "ddp", "devices": 1, "feasible": true, "step_seconds": 0.005},
 {"job": "long", "technique": "ddp", "devices": 2, "feasible": true, "step_seconds": 0.0005},
 {"job": "short", "technique": "ddp", "devices": 1, "feasible": true, "step_seconds": 1.0}]})");
  Run p = Saturn("plan " + sweep + " --profile " + profile + " -o " + (d / "plan.json"));
  INFO(p.out);
  REQUIRE(p.code == 0);
  const json planned = Load(d / "plan.json");
  for (const json& j : planned["jobs"]) REQUIRE(j["devices"] == 1);  // side by side

  // Re-plans every second: long is movable once two of its steps are logged, whenever short ends.
  const std::string args = "run " + sweep + " --plan " + (d / "plan.json") + " --threads 1 --replan-every 1 " + kMpirun;
  Run both = Saturn(args + " --replan-move --no-replan");
  CHECK(both.code == 2);
  CHECK_THAT(both.out, Catch::Contains("--replan-move") && Catch::Contains("drop --no-replan"));
  Run r = Saturn(args + " --replan-move");
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("moving long to ddp x2 on n:0,1: it stops at its next checkpoint") &&
                        Catch::Contains("long stopped at step "));

  // The journal: the move, the stop it asked for, the launch where it went, from the checkpoint.
  const auto events = saturn::ReadJournal(d / "runs/journal.jsonl");
  REQUIRE(events.ok());
  std::vector<json> starts;
  long long stopped_at = -1, checkpoint = 0;
  bool moved = false;
  for (const json& e : *events) {
    if (e.value("job", "") != "long") continue;
    if (e["event"] == "move") {
      moved = true;
      CHECK(e["devices"] == 2);
    }
    if (e["event"] == "checkpoint") checkpoint = e["step"];
    if (e["event"] == "stopped") {
      CHECK(e["moved"] == true);
      stopped_at = checkpoint;
    }
    if (e["event"] == "start") starts.push_back(e);
  }
  CHECK(moved);
  REQUIRE(starts.size() == 2);
  CHECK(starts[0]["devices"] == 1);
  CHECK(starts[1]["devices"] == 2);
  CHECK(starts[1]["resume"] == true);
  CHECK_THAT(starts[1]["command"].get<std::string>(), Catch::Contains("--technique ddp --slots 0,1") && Catch::Contains("--resume"));
  REQUIRE(stopped_at > 0);
  CHECK(stopped_at < steps);
  const json report = Load(d / "runs/report.json");
  for (const json& j : report["job_results"]) {
    CHECK(j["state"] == "finished");
    if (j["job"] != "long") continue;
    REQUIRE(j["launches"].size() == 2);
    CHECK(j["launches"][0]["ended"] == "moved");
    CHECK(j["devices"] == 2);
  }
  REQUIRE(report["plans_adopted"].size() >= 1);
  CHECK(report["plans_adopted"][0]["moved"] == json::array({"long"}));

  // Had a sweep-wide stop (Slurm's SIGTERM) caught long on its way, the orchestrator would have
  // placed it where it was moved, and --resume would launch it there: the report says so too,
  // from this journal cut after the move and ended as that stop would end it.
  {
    std::vector<json> cut;
    for (const json& e : *events) {
      cut.push_back(e);
      if (e.value("event", "") == "move") break;
    }
    REQUIRE(cut.back()["event"] == "move");
    const double t = cut.back()["time"].get<double>();
    cut.push_back({{"event", "signal"}, {"signal", "SIGTERM"}, {"time", t + 0.1}});
    cut.push_back({{"event", "stopped"}, {"job", "long"}, {"attempt", 1}, {"signal", "SIGTERM"}, {"time", t + 0.2}});
    const auto loaded_sweep = saturn::LoadSweep(sweep);
    const auto loaded_plan = saturn::LoadPlan(d / "plan.json");
    REQUIRE(loaded_sweep.ok());
    REQUIRE(loaded_plan.ok());
    const json caught = saturn::RunReport(*loaded_sweep, *loaded_plan, d / "plan.json", cut);
    for (const json& j : caught["job_results"]) {
      if (j["job"] != "long") continue;
      CHECK(j["state"] == "interrupted");
      CHECK(j["devices"] == 2);
      CHECK(j["launches"][0]["ended"] == "stopped");
      CHECK(j["planned_devices"] == 1);
    }
  }

  // What it learned: every step once, and the losses of the job trained alone on one device
  // (ddp on two ranks sums its gradients in another order: equal to float rounding).
  const std::string alone = MoveSweep(d, "alone", steps);
  Run a = Saturn("run " + alone + " --only long --technique ddp --threads 1 -q");
  INFO(a.out);
  REQUIRE(a.code == 0);
  const auto got = testutil::Losses(d / "runs/long/metrics.jsonl"), want = testutil::Losses(d / "alone/long/metrics.jsonl");
  REQUIRE(got.size() == size_t(steps));
  REQUIRE(want.size() == size_t(steps));
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    REQUIRE(got[i].first == want[i].first);
    REQUIRE(want[i].first == (long long)(i) + 1);
    worst = std::max(worst, std::abs(got[i].second - want[i].second) / want[i].second);
    if (want[i].first <= stopped_at) CHECK(got[i].second == want[i].second);  // before the move: the same numbers
  }
  INFO("worst relative loss difference " << worst);
  CHECK(worst < 1e-5);
}
