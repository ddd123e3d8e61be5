// Evaluation during training (the sweep's `eval:` section): at every eval.every_steps step the
// job's ranks score that step's checkpoint on the sweep's tasks, and at the end its final weights;
// the scores land in metrics.jsonl. Checked against `saturn eval` (itself checked against the
// plain one-sequence loop) on the same weights in one process, for a job on two fsdp ranks under
// mpirun, where the ranks split the scoring.
#include <filesystem>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "config/sweep.h"
#include "data/tokenizer.h"
#include "plan/plan.h"
#include "run/report.h"
#include "run/report_views.h"
#include "run_util.h"
#include "util/files.h"

namespace {

using nlohmann::json;

// The first `n` items of a shipped task, decompressed.
std::string TaskHead(const TempDir& d, const std::string& shipped, const std::string& name, int n) {
  const std::string out = d / (name + ".jsonl");
  Run r = Shell("bzcat " SATURN_SOURCE_DIR "/datasets/eval/" + shipped + " | head -n " + std::to_string(n) + " > " + out);
  REQUIRE(r.code == 0);
  return out;
}

// A one-job sweep on a two-device CPU node: `eval` is its eval: section's body, `job` the job's
// lines after its model, tokenizer, data, seq_len and batch_size.
std::string EvalSweep(const TempDir& d, const std::string& gpt2, const std::string& eval, const std::string& job) {
  return d.write("ev.yaml", "name: ev\noutput_dir: " + (d / "runs") +
                                "\ncluster: {device: cpu, device_memory_gib: 8, nodes: [{name: n, devices: 2}]}\n"
                                "eval:\n" + eval +
                                "jobs:\n  - name: a\n    model: " SATURN_SOURCE_DIR "/models/gpt2-tiny.json\n"
                                "    tokenizer: {kind: gpt2, path: " + gpt2 + "}\n    data: {train: " + Corpus() +
                                "}\n    seq_len: 32\n    batch_size: 8\n" + job);
}

}  // namespace

TEST_CASE("eval.every_steps: the job's ranks score each checkpoint and the final weights on the sweep's tasks, as "
          "saturn eval does",
          "[execute][eval]") {
  TempDir d;
  auto gpt2 = saturn::FindGpt2Dir();
  REQUIRE(gpt2.ok());
  const std::string copa = TaskHead(d, "composer/copa.jsonl.bz2", "copa", 24);
  const std::string lambada = TaskHead(d, "composer/lambada_openai.jsonl.bz2", "lambada", 24);
  const std::string tasks = "  tasks:\n    - {name: copa, kind: mc, path: " + copa + "}\n" +
                            "    - {name: lambada, kind: lm, path: " + lambada + "}\n";
  const std::string sweep = EvalSweep(d, *gpt2, "  every_steps: 2\n" + tasks,
                                      "    steps: 5\n    checkpoint_every: 3\n    keep_checkpoints: 10\n"
                                      "    log_every: 1\n    techniques: [fsdp]\n    devices: [2]\n");
  Run run = Shell(std::string(SATURN_MPIRUN) + " -n 2 " SATURN_BINARY " run " + sweep + " --technique fsdp --threads 1");
  INFO(run.out);
  REQUIRE(run.code == 0);
  CHECK_THAT(run.out, Catch::Contains("eval at step 2: copa acc"));

  std::map<long long, json> evals;  // step -> its eval line
  std::istringstream in(*saturn::ReadFile(d / "runs/a/metrics.jsonl"));
  for (std::string line; std::getline(in, line);) {
    const json m = json::parse(line);
    if (m.contains("eval")) evals[m["step"].get<long long>()] = m;
  }
  REQUIRE(evals.size() == 3);  // steps 2 and 4, and the final weights at 5
  CHECK(evals.count(2) == 1);
  CHECK(evals.count(4) == 1);
  REQUIRE(evals.count(5) == 1);
  CHECK(evals[5]["final"] == true);
  CHECK(evals[4]["final"] == false);

  const std::string tasks_file =
      d.write("tasks.yaml", "tokenizer: {kind: gpt2, path: " + *gpt2 + "}\ntasks:\n  - {name: copa, kind: mc, path: " +
                                copa + "}\n  - {name: lambada, kind: lm, path: " + lambada + "}\n");
  auto reference = [&](const std::string& model) {
    Run e = Saturn("eval --model " + model + " --tasks " + tasks_file + " -o " + (d / "ref.json") + " --threads 1 -q");
    INFO(e.out);
    REQUIRE(e.code == 0);
    return json::parse(*saturn::ReadFile(d / "ref.json"))["tasks"];
  };
  for (const auto& [step, dir] : {std::make_pair(2LL, d / "runs/a/checkpoints/step-2"),
                                  std::make_pair(4LL, d / "runs/a/checkpoints/step-4"),
                                  std::make_pair(5LL, d / "runs/a/final")}) {
    INFO("step " << step);
    const json ref = reference(dir);
    for (const char* task : {"copa", "lambada"}) {
      INFO(task);
      CHECK(evals[step]["eval"][task] == ref[task]["metrics"]);
    }
  }
  // Training moved the weights between evaluations.
  CHECK(evals[2]["eval"]["lambada"] != evals[5]["eval"]["lambada"]);

  // The report of a plan of this sweep carries the latest scores, the final weights', in
  // report.json and report.md's Evaluation table.
  const std::string profile = d.write("ev-profile.json", R"({"version": 1, "sweep": "ev", "records": [
 {"job": "a", "technique": "fsdp", "devices": 2, "feasible": true, "step_seconds": 0.1}]})");
  Run planned = Saturn("plan " + sweep + " --profile " + profile + " -o " + (d / "plan.json") + " --time-limit 2");
  INFO(planned.out);
  REQUIRE(planned.code == 0);
  const auto loaded_sweep = saturn::LoadSweep(sweep);
  const auto loaded_plan = saturn::LoadPlan(d / "plan.json");
  REQUIRE(loaded_sweep.ok());
  REQUIRE(loaded_plan.ok());
  const json report = saturn::RunReport(*loaded_sweep, *loaded_plan, d / "plan.json", {});
  const json& a = report["job_results"][0];
  CHECK(a["eval"] == evals[5]["eval"]);
  CHECK(a["eval_step"] == 5);
  CHECK(a["eval_final"] == true);
  const std::string md = saturn::ReportMarkdown(report);
  CHECK_THAT(md, Catch::Contains("## Evaluation") && Catch::Contains("| a | 5 (final) | copa |") &&
                     Catch::Contains("| a | 5 (final) | lambada |"));
}

TEST_CASE("eval.every_steps: a job stopped during its final evaluation evaluates its final weights on --resume, and one "
          "whose final scores are in metrics.jsonl is left as it is",
          "[execute][eval]") {
  TempDir d;
  auto gpt2 = saturn::FindGpt2Dir();
  REQUIRE(gpt2.ok());
  const std::string copa = TaskHead(d, "composer/copa.jsonl.bz2", "copa", 16);
  const std::string sweep = EvalSweep(d, *gpt2, "  tasks:\n    - {name: copa, kind: mc, path: " + copa + "}\n",
                                      "    steps: 3\n    log_every: 1\n    devices: [2]\n");
  const std::string run = std::string(SATURN_MPIRUN) + " -n 2 " SATURN_BINARY " run " + sweep + " --technique ddp --threads 1";
  Run first = Shell(run);
  INFO(first.out);
  REQUIRE(first.code == 0);
  const std::string metrics = d / "runs/a/metrics.jsonl";
  const std::string full = *saturn::ReadFile(metrics);
  const size_t final_line = full.find("\"final\":true");
  REQUIRE(final_line != std::string::npos);
  // As a kill during the final evaluation leaves it: final/ written, its scores not.
  const std::string cut = full.substr(0, full.rfind('\n', final_line) + 1);
  REQUIRE(saturn::WriteFileAtomic(metrics, cut).ok());
  Run resumed = Shell(run + " --resume");
  INFO(resumed.out);
  REQUIRE(resumed.code == 0);
  CHECK_THAT(resumed.out, Catch::Contains("not evaluated yet"));
  // The same weights score the same: the line is back as it was (but for its time), once.
  auto without_time = [](const std::string& text) {
    std::string out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      json m = json::parse(line);
      m.erase("eval_seconds");
      out += m.dump() + "\n";
    }
    return out;
  };
  const std::string after = *saturn::ReadFile(metrics);
  CHECK(after.substr(0, cut.size()) == cut);
  CHECK(without_time(after) == without_time(full));
  Run again = Shell(run + " --resume");
  INFO(again.out);
  REQUIRE(again.code == 0);
  CHECK_THAT(again.out, Catch::Contains("already finished") && !Catch::Contains("not evaluated yet"));
  CHECK(*saturn::ReadFile(metrics) == after);
}
