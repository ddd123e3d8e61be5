// `saturn run` as a user runs it: a tiny GPT-2 on the generated corpus. The loss falls; a run
// killed with SIGKILL and resumed writes the same losses and the same final weights, bit for
// bit, as one never interrupted; mistakes are exit code 2 with the place named.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "run_util.h"
#include "data/tokenizer.h"
#include "util/files.h"

namespace {

using nlohmann::json;

std::string Sweep(const TempDir& d, int steps, const std::string& extra = "") {
  auto gpt2 = saturn::FindGpt2Dir();
  INFO((gpt2.ok() ? std::string() : gpt2.status().message() + " (scripts/setup.sh fetches the GPT-2 files)"));
  REQUIRE(gpt2.ok());
  return d.write("sweep.yaml", "name: t\noutput_dir: " + (d / "runs") +
                                   "\ncluster: {device: cpu, nodes: [{name: n, devices: 1}]}\n"
                                   "jobs:\n  - name: tiny\n    model: " SATURN_SOURCE_DIR "/models/gpt2-tiny.json\n"
                                   "    tokenizer: {kind: gpt2, path: " + *gpt2 + "}\n"
                                   "    data: {train: " + Corpus() + ", valid_fraction: 0.05}\n"
                                   "    seq_len: 64\n    batch_size: 8\n    micro_batch_size: 4\n"
                                   "    steps: " + std::to_string(steps) + "\n    warmup_steps: 3\n"
                                   "    log_every: 1\n    optimizer: {lr: 3.0e-3, weight_decay: 0.1}\n" + extra);
}

}  // namespace

TEST_CASE("saturn run: the loss of a tiny GPT-2 falls on the generated corpus", "[run]") {
  TempDir d;
  std::string sweep = Sweep(d, 30);
  Run r = Saturn("run " + sweep + " --threads 2");
  INFO(r.out);
  REQUIRE(r.code == 0);
  const std::string job = d / "runs/tiny";
  auto losses = Losses(job + "/metrics.jsonl");
  REQUIRE(losses.size() == 30);
  CHECK(losses.front().first == 1);
  CHECK(losses.back().first == 30);
  CHECK(losses.front().second > 9.0);  // ln(50257) = 10.8 at the start
  CHECK(losses.back().second < losses.front().second - 3.0);
  bool valid = false;
  for (const json& j : Metrics(job + "/metrics.jsonl")) valid |= j.contains("valid_loss");
  CHECK(valid);
  CHECK(std::filesystem::exists(job + "/final/config.json"));
  CHECK(std::filesystem::exists(job + "/final/model.safetensors"));
  CHECK(std::filesystem::exists(job + "/checkpoints/step-30/trainer_state.json"));

  // Running again is refused; --resume of a finished job does nothing.
  Run again = Saturn("run " + sweep);
  CHECK(again.code == 2);
  CHECK_THAT(again.out, Catch::Contains("--resume"));
  Run resumed = Saturn("run " + sweep + " --resume");
  CHECK(resumed.code == 0);
  CHECK_THAT(resumed.out, Catch::Contains("already finished"));
  CHECK(Losses(job + "/metrics.jsonl").size() == 30);
}

TEST_CASE("saturn run: killed with SIGKILL and resumed, the run is bit-identical", "[run]") {
  TempDir ref, d;
  const std::string ckpt = "    checkpoint_every: 4\n    keep_checkpoints: 2\n";
  Run r = Saturn("run " + Sweep(ref, 14, ckpt) + " --threads 2 --quiet");
  INFO(r.out);
  REQUIRE(r.code == 0);
  auto want = Losses(ref / "runs/tiny/metrics.jsonl");
  REQUIRE(want.size() == 14);

  const std::string sweep = Sweep(d, 14, ckpt), metrics = d / "runs/tiny/metrics.jsonl";
  // Kill at different moments: before the first checkpoint, just after one, and late.
  for (size_t kill_after : {2u, 5u, 11u}) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      freopen("/dev/null", "w", stderr);
      const char* resume = std::filesystem::exists(metrics) ? "--resume" : "--threads";
      if (std::string(resume) == "--resume")
        execl(SATURN_BINARY, SATURN_BINARY, "run", sweep.c_str(), "--resume", "--threads", "2", (char*)nullptr);
      else
        execl(SATURN_BINARY, SATURN_BINARY, "run", sweep.c_str(), "--threads", "2", (char*)nullptr);
      _exit(127);
    }
    auto t0 = std::chrono::steady_clock::now();
    while (Lines(metrics) < kill_after && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(120))
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    kill(pid, SIGKILL);
    int st = 0;
    waitpid(pid, &st, 0);
    INFO("kill after " << kill_after << " lines");
    CHECK(WIFSIGNALED(st));
  }
  Run fin = Saturn("run " + sweep + " --resume --threads 2");
  INFO(fin.out);
  REQUIRE(fin.code == 0);
  auto got = Losses(metrics);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("step " << want[i].first);
    CHECK(got[i].first == want[i].first);
    CHECK(got[i].second == want[i].second);  // exactly
  }
  CHECK(*saturn::ReadFile(d / "runs/tiny/final/model.safetensors") ==
        *saturn::ReadFile(ref / "runs/tiny/final/model.safetensors"));
}

TEST_CASE("saturn run: mistakes are exit code 2 with the place named", "[run]") {
  TempDir d;
  std::string sweep = Sweep(d, 3);
  Run only = Saturn("run " + sweep + " --only nope");
  CHECK(only.code == 2);
  CHECK_THAT(only.out, Catch::Contains("nope") && Catch::Contains("tiny"));
  Run both = Saturn("run " + sweep + " --resume --restart");
  CHECK(both.code == 2);

  std::string text = *saturn::ReadFile(sweep);
  std::string missing = text;
  missing.replace(missing.find(Corpus()), Corpus().size(), d / "absent.txt");
  Run r = Saturn("run " + d.write("missing.yaml", missing));
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("absent.txt"));

  std::string long_seq = text;
  long_seq.replace(long_seq.find("seq_len: 64"), 11, "seq_len: 4096");
  Run l = Saturn("run " + d.write("long.yaml", long_seq));
  CHECK(l.code == 2);
  CHECK_THAT(l.out, Catch::Contains("seq_len"));
}
