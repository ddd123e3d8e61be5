// What a user can type wrong, as they would type it: every case ran against the binary and
// crashed, hung, lost data or said nothing useful before its fix (issue "Trustworthy under bad
// input and misuse"). Each now gets exit code 2 (or a clean stop), the place, what to do, and
// leaves inputs and earlier results intact.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "data/tokenizer.h"
#include "model/hf_checkpoint.h"
#include "util/files.h"

#undef CHECK
#include "cli_util.h"
#include "model_util.h"
#include "run_util.h"

namespace {

namespace fs = std::filesystem;

std::string Gpt2() {
  auto gpt2 = saturn::FindGpt2Dir();
  INFO((gpt2.ok() ? std::string() : gpt2.status().message() + " (scripts/setup.sh fetches the GPT-2 files)"));
  REQUIRE(gpt2.ok());
  return *gpt2;
}

// One tiny job (or `jobs` as given), training `steps` steps on the generated corpus.
std::string RunSweep(const TempDir& d, int steps, const std::string& extra_job = "", const std::string& tail = "",
                     const std::string& model = SATURN_SOURCE_DIR "/models/gpt2-tiny.json") {
  return d.write("sweep.yaml", "name: t\noutput_dir: " + (d / "runs") +
                                   "\ncluster: {device: cpu, nodes: [{name: n, devices: 1}]}\n"
                                   "jobs:\n  - name: tiny\n    model: " + model + "\n"
                                   "    tokenizer: {kind: gpt2, path: " + Gpt2() + "}\n"
                                   "    data: {train: " + Corpus() + ", valid_fraction: 0.05}\n"
                                   "    seq_len: 32\n    batch_size: 4\n    steps: " + std::to_string(steps) +
                                   "\n    checkpoint_every: 2\n    log_every: 1\n" + extra_job + tail);
}

const char* kPlanSweep = "name: p\ncluster: {nodes: [{name: a, devices: 2}]}\njobs:\n  - {name: j, model: m.json, steps: 10}\n";

std::string PlanProfile(const std::string& step_seconds, const std::string& memory = "") {
  return "{\"version\": 1, \"records\": [\n  {\"job\": \"j\", \"technique\": \"ddp\", \"devices\": 1, \"feasible\": true, "
         "\"step_seconds\": " + step_seconds + memory + "},\n  {\"job\": \"j\", \"technique\": \"ddp\", \"devices\": 2, "
         "\"feasible\": true, \"step_seconds\": 1.0}]}\n";
}

}  // namespace

TEST_CASE("misuse: a number too large for a double is exit 2 with its place in every JSON reader", "[misuse]") {
  TempDir d;
  const std::string sweep = d.write("s.yaml", kPlanSweep);
  Run plan = Saturn("plan " + sweep + " --profile " + d.write("profile.json", PlanProfile("1e999")) + " -o " + d / "p.json");
  CHECK(plan.code == 2);
  CHECK_THAT(plan.out, Catch::Contains("profile.json:2:") && Catch::Contains("1e999"));
  CHECK_THAT(plan.out, !Catch::Contains("json.exception"));

  std::string config = *saturn::ReadFile(SATURN_SOURCE_DIR "/models/gpt2-tiny.json");
  config.replace(config.find("\"n_embd\": 128"), 13, "\"n_embd\": 1e999");
  const std::string big = d.write("big.json", config);
  Run run = Saturn("run " + RunSweep(d, 2, "", "", big));
  CHECK(run.code == 2);
  CHECK_THAT(run.out, Catch::Contains("big.json:") && Catch::Contains("1e999"));
  CHECK_THAT(run.out, !Catch::Contains("json.exception"));
  CHECK_FALSE(fs::exists(d / "runs/tiny/metrics.jsonl"));

  TempDir m;
  const std::string model = SaveRandomModel(m, 3);
  fs::copy_file(big, model + "/config.json", fs::copy_options::overwrite_existing);
  const std::string tasks = d.write("tasks.yaml", "tokenizer: gpt2\ntasks:\n  - {name: t, kind: mc, path: " +
                                                      d.write("t.jsonl", "{\"query\": \"a\", \"choices\": [\"b\", \"c\"], \"gold\": 0}\n") + "}\n");
  Run eval = Saturn("eval --model " + model + " --tasks " + tasks + " -o " + d / "r.json");
  CHECK(eval.code == 2);
  CHECK_THAT(eval.out, Catch::Contains("config.json:") && !Catch::Contains("json.exception"));

  TempDir m2;
  const std::string good = SaveRandomModel(m2, 3);
  const std::string bad_tasks = d.write("tasks2.yaml", "tokenizer: gpt2\ntasks:\n  - {name: t, kind: mc, path: " +
      d.write("t2.jsonl", "{\"query\": \"a\", \"choices\": [\"b\", \"c\"], \"gold\": 0}\n{\"query\": \"a\", \"choices\": [\"b\", \"c\"], \"gold\": 1e999}\n") + "}\n");
  Run gold = Saturn("eval --model " + good + " --tasks " + bad_tasks + " -o " + d / "r.json");
  CHECK(gold.code == 2);
  CHECK_THAT(gold.out, Catch::Contains("t2.jsonl:2") && !Catch::Contains("json.exception"));
  CHECK_FALSE(fs::exists(d / "r.json"));

  Run sim = Saturn("plan --simulate " + d.write("not-a-plan.json", PlanProfile("1.0")));
  CHECK(sim.code == 2);
  CHECK_THAT(sim.out, Catch::Contains("not a saturn plan") && Catch::Contains("saturn plan -o"));
  CHECK_THAT(sim.out, !Catch::Contains("json.exception"));
}

TEST_CASE("misuse: an output that is also an input is refused, the input left intact", "[misuse]") {
  TempDir d;
  const std::string text = d.write("a.txt", "some text to keep\n");
  Run tok = Saturn("tokenize -o " + text + " " + text);
  CHECK(tok.code == 2);
  CHECK_THAT(tok.out, Catch::Contains("also an input"));
  CHECK(*saturn::ReadFile(text) == "some text to keep\n");

  const std::string sweep = d.write("s.yaml", kPlanSweep), profile = d.write("profile.json", PlanProfile("2.0"));
  Run plan = Saturn("plan " + sweep + " --profile " + profile + " -o " + profile);
  CHECK(plan.code == 2);
  CHECK_THAT(plan.out, Catch::Contains("would overwrite the profile"));
  CHECK(*saturn::ReadFile(profile) == PlanProfile("2.0"));

  Run eval = Saturn("eval --model m --tasks t.yaml -o " + d / "x.json --per-example " + d / "x.json");
  CHECK(eval.code == 2);
  CHECK_THAT(eval.out, Catch::Contains("same file as -o"));
}

TEST_CASE("misuse: a directory given as a file says it is a directory", "[misuse]") {
  TempDir d;
  fs::create_directories(d / "dir");
  Run tok = Saturn("tokenize -o " + d / "out.tokens " + d / "dir");
  CHECK(tok.code == 2);
  CHECK_THAT(tok.out, Catch::Contains("is a directory"));
  CHECK_FALSE(fs::exists(d / "out.tokens"));
  Run plan = Saturn("plan " + d / "dir --profile x -o " + d / "p.json");
  CHECK(plan.code == 2);
  CHECK_THAT(plan.out, Catch::Contains("is a directory"));
  std::string sweep = RunSweep(d, 2);
  std::string text = *saturn::ReadFile(sweep);
  text.replace(text.find(Corpus()), Corpus().size(), d / "dir");
  Run run = Saturn("run " + d.write("dir.yaml", text));
  CHECK(run.code == 2);
  CHECK_THAT(run.out, Catch::Contains("data.train") && Catch::Contains("is a directory"));
}

TEST_CASE("misuse: sizes and counts out of range are refused at once", "[misuse]") {
  TempDir d;
  std::string sweep = kPlanSweep;
  sweep.replace(sweep.find("devices: 2"), 10, "devices: 100000000");
  auto t0 = std::chrono::steady_clock::now();
  Run huge = Saturn("plan " + d.write("huge.yaml", sweep) + " --profile " + d.write("p.json", PlanProfile("1")) +
                    " --policy greedy -o " + d / "plan.json");
  CHECK(huge.code == 2);
  CHECK_THAT(huge.out, Catch::Contains("huge.yaml:2:") && Catch::Contains("devices"));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
  Run threads = Saturn("run " + RunSweep(d, 2) + " --threads 100000");
  CHECK(threads.code == 2);
  CHECK_THAT(threads.out, Catch::Contains("--threads 100000"));
  CHECK(Saturn("eval --model m --tasks t -o o.json --threads 100000").code == 2);
  Run noise = Saturn("plan --simulate x.json --noise 10");
  CHECK(noise.code == 2);
  CHECK_THAT(noise.out, Catch::Contains("--noise must be between 0 and 1"));
  Run budget = Saturn("plan --simulate x.json --search-budget -5");
  CHECK(budget.code == 2);
  CHECK_THAT(budget.out, Catch::Contains("--search-budget must be between 0 and 1e15"));
  Run limit = Saturn("eval --model m --tasks t -o o.json --limit 0");
  CHECK(limit.code == 2);
  CHECK_THAT(limit.out, Catch::Contains("--limit must be 1 or more"));
}

TEST_CASE("misuse: a mistyped subcommand or policy gets the nearest name", "[misuse]") {
  Run sub = Saturn("plna x.yaml");
  CHECK(sub.code == 2);
  CHECK_THAT(sub.out, Catch::Contains("unknown subcommand 'plna'") && Catch::Contains("did you mean 'plan'"));
  Run policy = Saturn("plan x.yaml --profile p.json -o o.json --policy gredy");
  CHECK(policy.code == 2);
  CHECK_THAT(policy.out, Catch::Contains("did you mean 'greedy'"));
  Run tech = Saturn("run x.yaml --technique fsdb");
  CHECK(tech.code == 2);
}

TEST_CASE("misuse: every job's inputs are checked before the first job trains", "[misuse]") {
  TempDir d;
  const std::string second = "  - name: second\n    model: " SATURN_SOURCE_DIR "/models/gpt2-tiny.json\n"
                             "    tokenizer: gpt2\n    data: {train: " + d / "missing.txt" + "}\n";
  Run r = Saturn("run " + RunSweep(d, 2, "", second));
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("job 'second'") && Catch::Contains("missing.txt") && Catch::Contains("no such file"));
  CHECK_FALSE(fs::exists(d / "runs/tiny/metrics.jsonl"));  // the first job did not train
  const std::string eval = "eval:\n  tasks:\n    - {name: gone, kind: lm, path: " + d / "gone.jsonl" + "}\n";
  Run e = Saturn("run " + RunSweep(d, 2, "", eval));
  CHECK(e.code == 2);
  CHECK_THAT(e.out, Catch::Contains("eval task 'gone'") && Catch::Contains("gone.jsonl"));
}

TEST_CASE("misuse: job names '.' and '..' are refused / --restart deletes only what saturn wrote", "[misuse]") {
  TempDir d;
  std::string sweep = RunSweep(d, 2);
  std::string text = *saturn::ReadFile(sweep);
  text.replace(text.find("name: tiny"), 10, "name: ..");
  Run dots = Saturn("run " + d.write("dots.yaml", text));
  CHECK(dots.code == 2);
  CHECK_THAT(dots.out, Catch::Contains("'..' is not a valid name"));
  REQUIRE(Saturn("run " + sweep + " --quiet --threads 1").code == 0);
  const std::string mine = d.write("runs/tiny/notes.txt", "my notes\n");
  Run again = Saturn("run " + sweep + " --restart --quiet --threads 1");
  REQUIRE(again.code == 0);
  CHECK(*saturn::ReadFile(mine) == "my notes\n");
  CHECK(fs::exists(d / "runs/tiny/final/config.json"));
  CHECK(fs::exists(d / "runs/tiny/final/encoder.json"));  // final/ carries the tokenizer
}

TEST_CASE("misuse: --resume with every checkpoint damaged stops and says so", "[misuse]") {
  TempDir d;
  const std::string sweep = RunSweep(d, 4);
  REQUIRE(Saturn("run " + sweep + " --quiet --threads 1").code == 0);
  fs::remove_all(d / "runs/tiny/final");
  for (const char* step : {"step-2", "step-4"}) d.write(std::string("runs/tiny/checkpoints/") + step + "/model.safetensors", "x");
  Run r = Saturn("run " + sweep + " --resume --threads 1");
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("every checkpoint") && Catch::Contains("damaged") && Catch::Contains("--restart"));
  CHECK(Losses(d / "runs/tiny/metrics.jsonl").size() == 4);  // nothing was cut or retrained
}

TEST_CASE("misuse: a second run on a job that is training is refused, naming the first", "[misuse]") {
  TempDir d;
  const std::string sweep = RunSweep(d, 200), metrics = d / "runs/tiny/metrics.jsonl";
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    freopen("/dev/null", "w", stderr);
    execl(SATURN_BINARY, SATURN_BINARY, "run", sweep.c_str(), "--threads", "1", (char*)nullptr);
    _exit(127);
  }
  auto t0 = std::chrono::steady_clock::now();
  while (Lines(metrics) < 1 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(120))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  Run second = Saturn("run " + sweep + " --resume --threads 1");
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  CHECK(second.code == 2);
  CHECK_THAT(second.out, Catch::Contains("being trained by saturn pid " + std::to_string(pid)));
  // The kernel dropped the killed run's lock: resuming now works.
  Run resumed = Saturn("run " + RunSweep(d, 3) + " --resume --threads 1 --quiet");
  CHECK(resumed.code == 0);
}

TEST_CASE("misuse: SIGTERM checkpoints at the step boundary, exits 143, and --resume continues exactly", "[misuse]") {
  TempDir ref, d;
  // No checkpoint but the one the signal asks for.
  auto rare = [](const TempDir& t) {
    std::string text = *saturn::ReadFile(RunSweep(t, 12));
    return t.write("sweep.yaml", text.replace(text.find("checkpoint_every: 2"), 19, "checkpoint_every: 100"));
  };
  REQUIRE(Saturn("run " + rare(ref) + " --threads 1 --quiet").code == 0);
  const std::string sweep = rare(d), metrics = d / "runs/tiny/metrics.jsonl";
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    freopen((d / "stderr.txt").c_str(), "w", stderr);
    execl(SATURN_BINARY, SATURN_BINARY, "run", sweep.c_str(), "--threads", "1", (char*)nullptr);
    _exit(127);
  }
  auto t0 = std::chrono::steady_clock::now();
  while (Lines(metrics) < 3 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(120))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGTERM);
  int st = 0;
  waitpid(pid, &st, 0);
  REQUIRE(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 143);
  const std::string said = *saturn::ReadFile(d / "stderr.txt");
  CHECK_THAT(said, Catch::Contains("SIGTERM: stopped after step") && Catch::Contains("--resume"));
  const size_t done = Losses(metrics).size();
  CHECK(done < 12);
  CHECK(fs::exists(d / ("runs/tiny/checkpoints/step-" + std::to_string(done))));
  Run fin = Saturn("run " + sweep + " --resume --threads 1");
  INFO(fin.out);
  REQUIRE(fin.code == 0);
  CHECK(Losses(metrics) == Losses(ref / "runs/tiny/metrics.jsonl"));
}

TEST_CASE("misuse: an eval output that cannot be written fails before scoring", "[misuse]") {
  TempDir d, m;
  const std::string model = SaveRandomModel(m, 5);
  const std::string tasks = d.write("tasks.yaml", "tokenizer: gpt2\ntasks:\n  - {name: t, kind: mc, path: " +
                                                      d.write("t.jsonl", "{\"query\": \"a\", \"choices\": [\"b\", \"c\"], \"gold\": 0}\n") + "}\n");
  fs::create_directories(d / "out");
  Run r = Saturn("eval --model " + model + " --tasks " + tasks + " -o " + d / "out");
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("is a directory"));
  CHECK_THAT(r.out, !Catch::Contains("examples/s"));  // nothing was scored
  Run ok = Saturn("eval --model " + model + " --tasks " + tasks + " -o " + d / "r.json --limit 1");
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out, Catch::Contains("acc"));  // the table on stdout
  CHECK_THAT(*saturn::ReadFile(d / "r.json"), Catch::Contains("\"limit\": 1") && Catch::Contains("\"num_fewshot\": 0"));
}

TEST_CASE("misuse: a disk that fills up mid-write keeps the earlier files and says so", "[misuse]") {
  if (geteuid() != 0) FAIL("this test mounts small tmpfs file systems: run it as root, as CI does");
  TempDir d;
  struct Mount {
    std::string dir;
    Mount(const std::string& d, const std::string& size) : dir(d) {
      fs::create_directories(dir);
      REQUIRE(std::system(("mount -t tmpfs -o size=" + size + " tmpfs " + dir).c_str()) == 0);
    }
    ~Mount() { (void)std::system(("umount " + dir).c_str()); }
  };
  {  // A plan that no longer fits beside the previous one: the previous one stays.
    Mount m(d / "plan-fs", "4k");
    const std::string old = d.write("plan-fs/plan.json", "the previous plan\n");
    const std::string sweep = d.write("s.yaml", kPlanSweep), profile = d.write("p.json", PlanProfile("2.0"));
    Run r = Saturn("plan " + sweep + " --profile " + profile + " -o " + old);
    CHECK(r.code != 0);
    CHECK_THAT(r.out, Catch::Contains("No space left on device"));
    CHECK(*saturn::ReadFile(old) == "the previous plan\n");
  }
  // Checkpoints of a model of ~0.8M parameters take ~10 MB each: 26 MB hold two and a half.
  Mount m(d / "ckpt-fs", "26m");
  const std::string config = d.write("small.json", R"({"model_type": "gpt2", "vocab_size": 50257, "n_positions": 64,
      "n_embd": 16, "n_head": 2, "n_layer": 1, "tie_word_embeddings": true})");
  std::string sweep = RunSweep(d, 8, "", "", config);
  std::string text = *saturn::ReadFile(sweep);
  text.replace(text.find(d / "runs"), (d / "runs").size(), d / "ckpt-fs/runs");
  sweep = d.write("full.yaml", text);
  Run r = Saturn("run " + sweep + " --threads 1 --quiet");
  CHECK(r.code != 0);
  CHECK_THAT(r.out, Catch::Contains("No space left on device") && Catch::Contains("the earlier ones are intact"));
  const std::string ckpts = d / "ckpt-fs/runs/tiny/checkpoints";
  CHECK(fs::exists(ckpts + "/step-2/trainer_state.json"));
  CHECK(fs::exists(ckpts + "/step-4/trainer_state.json"));
  for (const auto& e : fs::directory_iterator(ckpts)) CHECK(e.path().filename().string().rfind(".tmp", 0) != 0);
  // With room again, the run resumes from the newest intact checkpoint and finishes.
  REQUIRE(std::system(("mount -o remount,size=80m " + m.dir).c_str()) == 0);
  Run fin = Saturn("run " + sweep + " --resume --threads 1");
  INFO(fin.out);
  CHECK(fin.code == 0);
  CHECK_THAT(fin.out, Catch::Contains("resuming from") && Catch::Contains("step-4"));
}
