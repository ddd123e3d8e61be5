// `saturn eval` as a user runs it, on subsets of every task layout in datasets/eval with a small
// random-weight GPT-2: the per-example log-likelihoods equal a plain one-request-at-a-time loop,
// and 1, 2 and 3 MPI ranks give identical results.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "config/tasks_file.h"
#include "data/tokenizer.h"
#include "eval/requests.h"
#include "eval/scorer.h"
#include "eval/task.h"
#include "model/hf_checkpoint.h"
#include "util/files.h"

// LibTorch pulls in glog, whose one-argument CHECK would shadow Catch's: include Catch last.
#undef CHECK
#include <catch2/catch.hpp>

#include "cli_util.h"
#include "model_util.h"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// The evaluation sets the project ships, bzip2-compressed (datasets/eval/README.md).
const std::string kData = SATURN_SOURCE_DIR "/datasets";

// Saved once per test process.
const std::string& ModelDir() {
  static TempDir folder;
  static const std::string dir = SaveRandomModel(folder, 11);
  return dir;
}

// Hidden size 16: the head (50257 x hidden per scored token) dominates scoring a whole data set,
// and at 16 the plain loop over all ~100k requests takes minutes, not an hour.
const std::string& MicroModelDir() {
  static TempDir folder;
  static const std::string dir = SaveRandomModel(folder, 12, 16);
  return dir;
}

std::string TasksYaml(const TempDir& d) {
  auto gpt2 = saturn::FindGpt2Dir();
  INFO((gpt2.ok() ? std::string() : gpt2.status().message() + " (scripts/setup.sh fetches the GPT-2 files)"));
  REQUIRE(gpt2.ok());
  return d.write("tasks.yaml", "tokenizer: {kind: gpt2, path: " + *gpt2 + "}\ntasks:\n"
      "  - {name: lambada, kind: lm, path: " + kData + "/eval/lambada_openai_test.jsonl.bz2, format: lambada}\n"
      "  - {name: piqa, kind: mc, path: " + kData + "/eval/piqa/valid.jsonl.bz2, format: piqa}\n"
      "  - {name: hellaswag, kind: mc, path: " + kData + "/eval/hellaswag_val.txt.bz2, format: hellaswag-text}\n"
      "  - {name: arc_easy, kind: mc, path: " + kData + "/eval/composer/arc_easy.jsonl.bz2, num_fewshot: 2}\n"
      "  - {name: winogrande, kind: schema, path: " + kData + "/eval/composer/winogrande.jsonl.bz2}\n"
      "  - {name: lambada_composer, kind: lm, path: " + kData + "/eval/composer/lambada_openai.jsonl.bz2}\n");
}

std::vector<json> JsonLines(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) out.push_back(json::parse(line));
  return out;
}

std::string Mpirun(int ranks) {
  return "mpirun --oversubscribe --allow-run-as-root --mca pml ob1 --mca btl self,vader -n " + std::to_string(ranks) +
         " " SATURN_BINARY;
}

// Scores every task of `tasks` (its first `limit` items, all when limit < 0) with the plain loop
// and checks `saturn eval`'s per-example output against it, line by line.
void RequireEqualsPlainLoop(const std::string& model_dir, const std::string& tasks, const std::string& per_example,
                            int limit, saturn::PlainHead head) {
  auto tf = saturn::LoadTasksFile(tasks);
  REQUIRE(tf.ok());
  auto tok = saturn::Tokenizer::Load(tf->tokenizer);
  REQUIRE(tok.ok());
  auto model = saturn::LoadHfModel(model_dir);
  REQUIRE(model.ok());
  std::vector<json> examples = JsonLines(per_example);
  size_t line = 0;
  for (const saturn::TaskSpec& spec : tf->tasks) {
    auto task = saturn::LoadTask(spec);
    REQUIRE(task.ok());
    if (limit >= 0) task->items.resize(size_t(limit));
    const int items = int(task->items.size());
    saturn::TaskRequests tr = saturn::BuildRequests(*task, **tok);
    std::vector<saturn::Score> plain = saturn::ScorePlain(*model, tr.requests, "cpu", head);
    size_t r = 0;
    int mismatches = 0;
    for (int item = 0; item < items; ++item, ++line) {
      REQUIRE(line < examples.size());
      const json& ex = examples[line];
      REQUIRE(ex["task"] == spec.name);
      REQUIRE(ex["index"] == item);
      CHECK(ex["gold"] == task->items[size_t(item)].gold);
      for (size_t c = 0; c < ex["loglikelihoods"].size(); ++c, ++r) {
        REQUIRE(r < plain.size());
        const double got = ex["loglikelihoods"][c].get<double>();
        if (std::abs(got - plain[r].loglikelihood) <= 1e-4 && ex["greedy"][c].get<bool>() == plain[r].greedy) continue;
        if (++mismatches > 5) continue;  // name the first few, count them all
        INFO(spec.name << " item " << item << " choice " << c);
        CHECK(got == Approx(plain[r].loglikelihood).margin(1e-4));
        CHECK(ex["greedy"][c].get<bool>() == plain[r].greedy);
      }
    }
    INFO(spec.name << ": " << items << " items, " << r << " requests");
    CHECK(mismatches == 0);
    CHECK(r == tr.requests.size());
  }
  CHECK(line == examples.size());
}

}  // namespace

TEST_CASE("saturn eval: every layout, batched and shared, equals the plain loop per example", "[eval]") {
  TempDir d;
  const std::string tasks = TasksYaml(d);
  Run r = Saturn("eval --model " + ModelDir() + " --tasks " + tasks + " -o " + (d / "r.json") + " --per-example " +
                 (d / "ex.jsonl") + " --limit 24 --batch-tokens 2048 --threads 2");
  INFO(r.out);
  REQUIRE(r.code == 0);
  json results = json::parse(*saturn::ReadFile(d / "r.json"));
  for (const char* t : {"lambada", "piqa", "hellaswag", "arc_easy", "winogrande", "lambada_composer"}) {
    INFO(t);
    REQUIRE(results["tasks"].contains(t));
    CHECK(results["tasks"][t]["n"] == 24);
    CHECK(results["tasks"][t]["examples_per_second"].get<double>() > 0);
  }
  CHECK(results["tasks"]["lambada"]["metrics"].contains("perplexity"));
  CHECK(results["tasks"]["piqa"]["metrics"].contains("acc_norm"));
  CHECK(results["tasks"]["piqa"]["metrics"].contains("acc_mean_token"));
  // The two LAMBADA layouts are the same task: the same numbers.
  CHECK(results["tasks"]["lambada"]["metrics"] == results["tasks"]["lambada_composer"]["metrics"]);
  // The reference: the same requests, one at a time, unbatched, full logits.
  RequireEqualsPlainLoop(ModelDir(), tasks, d / "ex.jsonl", 24, saturn::PlainHead::kAllRows);
}

// The slower test: every item of every task in datasets/eval, every layout, few-shot prompts
// that overflow the model's 256 positions (left truncation), against the plain loop.
TEST_CASE("saturn eval: every item of every task in datasets/eval equals the plain loop", "[eval][full]") {
  TempDir d;
  auto gpt2 = saturn::FindGpt2Dir();
  INFO((gpt2.ok() ? std::string() : gpt2.status().message() + " (scripts/setup.sh fetches the GPT-2 files)"));
  REQUIRE(gpt2.ok());
  std::string yaml = "tokenizer: {kind: gpt2, path: " + *gpt2 + "}\ntasks:\n"
      "  - {name: lambada, kind: lm, path: " + kData + "/eval/lambada_openai_test.jsonl.bz2, format: lambada}\n"
      "  - {name: piqa, kind: mc, path: " + kData + "/eval/piqa/valid.jsonl.bz2, format: piqa}\n"
      "  - {name: hellaswag, kind: mc, path: " + kData + "/eval/hellaswag_val.txt.bz2, format: hellaswag-text}\n";
  const std::vector<std::string> composer = {"arc_challenge:mc:5", "arc_easy:mc:0", "boolq:mc:0", "commonsense_qa:mc:0",
      "copa:mc:2", "lambada_openai:lm:0", "openbook_qa:mc:0", "piqa:mc:0", "siqa:mc:0", "winograd_wsc:schema:0",
      "winogrande:schema:1"};
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(kData + "/eval/composer")) files += e.path().extension() == ".bz2";
  CHECK(files == composer.size());  // a new task file in datasets/eval/composer belongs in this list
  for (const std::string& t : composer) {
    const size_t a = t.find(':'), b = t.rfind(':');
    const std::string name = t.substr(0, a);
    yaml += "  - {name: composer_" + name + ", kind: " + t.substr(a + 1, b - a - 1) + ", path: " + kData +
            "/eval/composer/" + name + ".jsonl.bz2, num_fewshot: " + t.substr(b + 1) + "}\n";
  }
  const std::string tasks = d.write("tasks.yaml", yaml);
  Run r = Saturn("eval --model " + MicroModelDir() + " --tasks " + tasks + " -o " + (d / "r.json") + " --per-example " +
                 (d / "ex.jsonl") + " --threads 2");
  INFO(r.out);
  REQUIRE(r.code == 0);
  json results = json::parse(*saturn::ReadFile(d / "r.json"));
  CHECK(results["tasks"]["lambada"]["n"] == 5153);
  CHECK(results["tasks"]["piqa"]["n"] == 1838);
  CHECK(results["tasks"]["hellaswag"]["n"] == 10042);
  // The head at continuation positions only: the same values, without 50257-wide rows at every
  // context position of ~100k requests.
  RequireEqualsPlainLoop(MicroModelDir(), tasks, d / "ex.jsonl", -1, saturn::PlainHead::kContinuationRows);
}

TEST_CASE("saturn eval: 1, 2 and 3 ranks under mpirun give identical results", "[eval]") {
  TempDir d;
  const std::string tasks = TasksYaml(d);
  std::string metrics[4], examples[4];
  for (int ranks : {1, 2, 3}) {
    const std::string out = d / ("r" + std::to_string(ranks) + ".json"), ex = d / ("e" + std::to_string(ranks));
    const std::string args = " eval --model " + ModelDir() + " --tasks " + tasks + " -o " + out + " --per-example " +
                             ex + " --limit 10 --batch-tokens 1024 --threads 1 --quiet";
    // One rank runs as a plain process; more under a real mpirun.
    if (ranks == 1) {
      Run r = Saturn(args);
      INFO(r.out);
      REQUIRE(r.code == 0);
    } else {
      REQUIRE(std::system((Mpirun(ranks) + args + " 2>&1").c_str()) == 0);
    }
    json j = json::parse(*saturn::ReadFile(out));
    CHECK(j["ranks"] == ranks);
    std::string m;
    for (auto& [name, t] : j["tasks"].items()) m += name + ":" + t["metrics"].dump() + ":" + t["n"].dump() + "\n";
    metrics[ranks] = m;
    examples[ranks] = *saturn::ReadFile(ex);
  }
  CHECK(metrics[2] == metrics[1]);
  CHECK(metrics[3] == metrics[1]);
  CHECK(examples[2] == examples[1]);
  CHECK(examples[3] == examples[1]);
}

TEST_CASE("saturn eval: mistakes are exit code 2 with the place named", "[eval]") {
  TempDir d;
  std::string bad = d.write("bad.jsonl", "{\"context\": \"a\", \"continuation\": \"b\"}\n{\"context\": \"a\"}\n");
  std::string tasks = d.write("t.yaml", "tokenizer: gpt2\ntasks:\n  - {name: t, kind: lm, path: " + bad + "}\n");
  Run r = Saturn("eval --model " + ModelDir() + " --tasks " + tasks + " -o " + (d / "r.json"));
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("bad.jsonl:2"));
  CHECK(!fs::exists(d / "r.json"));
  std::string no_tok = d.write("n.yaml", "tasks:\n  - {name: t, kind: lm, path: " + bad + "}\n");
  Run n = Saturn("eval --model " + ModelDir() + " --tasks " + no_tok + " -o " + (d / "r.json"));
  CHECK(n.code == 2);
  CHECK_THAT(n.out, Catch::Contains("tokenizer"));
  Run typo = Saturn("eval --model " + ModelDir() + " --tasks " +
                    d.write("y.yaml", "tasks:\n  - {name: t, knd: lm, path: x}\n") + " -o " + (d / "r.json"));
  CHECK(typo.code == 2);
  CHECK_THAT(typo.out, Catch::Contains("y.yaml:2") && Catch::Contains("kind"));
}
