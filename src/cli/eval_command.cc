// `saturn eval --model DIR --tasks TASKS.yaml -o RESULTS.json [--per-example OUT.jsonl]
//  [--device cpu|cuda] [--batch-tokens N] [--threads N] [--limit N]`: in-context-learning
// evaluation (docs/eval.md). Under mpirun or srun the ranks split each task's batches; rank 0
// gathers the scores and writes the results.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "cli/command.h"
#include "cli/torch_errors.h"
#include "comm/registry.h"
#include "config/tasks_file.h"
#include "data/tokenizer.h"
#include "eval/evaluate.h"
#include "eval/task.h"
#include "model/hf_checkpoint.h"
#include "util/files.h"
#include "util/heap.h"
#include "util/threads.h"

namespace saturn {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct EvalArgs {
  std::string model, tasks, output, per_example, device = "cpu";
  int64_t batch_tokens = 8192;
  int threads = 0;
  int limit = -1;  // -1: every item
  bool quiet = false;
};

// The tokenizer: TASKS.yaml's, else the files in the model directory.
Result<std::shared_ptr<const Tokenizer>> PickTokenizer(const TasksFile& tf, const std::string& model_dir) {
  if (!tf.tokenizer.empty()) return Tokenizer::Load(tf.tokenizer);
  const fs::path d(model_dir);
  if (fs::exists(d / "tokenizer.json")) return Tokenizer::Load("hf:" + (d / "tokenizer.json").string());
  if ((fs::exists(d / "vocab.json") && fs::exists(d / "merges.txt")) ||
      (fs::exists(d / "encoder.json") && fs::exists(d / "vocab.bpe")))
    return Tokenizer::Load("gpt2:" + model_dir);
  return Status::UserError(model_dir + ": no tokenizer files (tokenizer.json, or vocab.json + merges.txt); name one in " +
                           tf.path + " with `tokenizer: gpt2` or `tokenizer: {kind: hf, path: DIR}`");
}

// The results as a table on stdout (what plan and tokenize do too): task, n, each metric.
std::string Summary(const json& results) {
  std::string out;
  for (const auto& [name, t] : results["tasks"].items()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%-20s n %-6d", name.c_str(), t["n"].get<int>());
    out += buf;
    for (const auto& [k, v] : t["metrics"].items()) {
      std::snprintf(buf, sizeof buf, "  %s %.4f", k.c_str(), v.get<double>());
      out += buf;
    }
    out += "\n";
  }
  return out;
}

Status Eval(const EvalArgs& a) {
  if (a.model.empty()) return Status::UserError("--model DIR is required (a Hugging Face model directory)");
  if (a.tasks.empty()) return Status::UserError("--tasks TASKS.yaml is required");
  if (a.output.empty()) return Status::UserError("-o RESULTS.json is required");
  if (a.batch_tokens < 1) return Status::UserError("--batch-tokens must be at least 1");
  if (a.limit == 0 || a.limit < -1) return Status::UserError("--limit must be 1 or more (leave it out for every item)");
  SATURN_RETURN_IF_ERROR(CheckThreadCount(a.threads));
  if (!a.per_example.empty() && SameFile(a.per_example, a.output))
    return Status::UserError("--per-example " + a.per_example + " is the same file as -o; give two files");
  Result<World*> world = GetWorld();
  if (!world.ok()) return world.status();
  Communicator& comm = *(*world)->control;
  // Before any work: outputs that cannot be written fail now, on every rank together.
  Status writable = Status::Ok();
  if (comm.rank() == 0) {
    writable = CheckWritable(a.output, "-o");
    if (writable.ok() && !a.per_example.empty()) writable = CheckWritable(a.per_example, "--per-example");
  }
  SATURN_RETURN_IF_ERROR(AgreeOnStatus(comm, writable));
  torch::set_num_threads(a.threads > 0 ? a.threads : int(std::max(1u, std::thread::hardware_concurrency())));
  KeepLargeAllocationsInHeap();
  if (a.device == "cuda" && !torch::cuda::is_available())
    return Status::UserError("--device cuda: this LibTorch has no CUDA device available; use --device cpu");

  Result<TasksFile> tf = LoadTasksFile(a.tasks);
  if (!tf.ok()) return tf.status();
  Result<std::shared_ptr<const Tokenizer>> tok = PickTokenizer(*tf, a.model);
  if (!tok.ok()) return tok.status();
  std::vector<EvalTask> tasks;
  for (const TaskSpec& spec : tf->tasks) {  // every file is read before the model runs
    Result<EvalTask> t = LoadTask(spec);
    if (!t.ok()) return t.status();
    if (a.limit > 0 && int(t->items.size()) > a.limit) t->items.resize(size_t(a.limit));
    tasks.push_back(std::move(*t));
  }
  Result<CausalLM> model = LoadHfModel(a.model);
  if (!model.ok()) return model.status();
  if ((*tok)->vocab_size() > (*model)->config().vocab_size)
    return Status::UserError(a.model + ": vocab_size " + std::to_string((*model)->config().vocab_size) +
                             " is smaller than the tokenizer's " + std::to_string((*tok)->vocab_size()));
  (*model)->to(torch::Device(a.device == "cuda" ? torch::kCUDA : torch::kCPU));

  ScoreOptions so;
  so.batch_tokens = a.batch_tokens;
  so.device = a.device;
  json results = {{"model", a.model},
                  {"tasks_file", a.tasks},
                  {"device", a.device},
                  {"ranks", comm.size()},
                  {"tokenizer", (*tok)->name()},
                  {"limit", a.limit > 0 ? json(a.limit) : json(nullptr)},
                  {"tasks", json::object()}};
  Result<std::vector<TaskOutcome>> outcomes = EvaluateTasks(*model, **tok, tasks, so, comm);
  if (!outcomes.ok()) return outcomes.status();
  std::string per_example;
  for (size_t t = 0; t < tasks.size() && comm.rank() == 0; ++t) {  // rank 0 alone scores and writes
    const EvalTask& task = tasks[t];
    const TaskOutcome& o = (*outcomes)[t];
    json metrics = json::object();
    for (const auto& [k, v] : o.metrics.values) metrics[k] = v;
    results["tasks"][task.spec.name] = {{"metrics", metrics},
                                        {"path", task.spec.path},
                                        {"format", task.spec.format},
                                        {"num_fewshot", task.spec.num_fewshot},
                                        {"n", o.metrics.n},
                                        {"requests", o.requests.requests.size()},
                                        {"seconds", o.seconds},
                                        {"examples_per_second", double(o.metrics.n) / o.seconds}};
    if (!a.quiet) {
      std::string line = task.spec.name + ":";
      for (const auto& [k, v] : o.metrics.values) line += " " + k + " " + std::to_string(v);
      std::fprintf(stderr, "%s  (n %d, %.1f s, %.1f examples/s)\n", line.c_str(), o.metrics.n, o.seconds,
                   o.metrics.n / o.seconds);
    }
    if (!a.per_example.empty()) {
      size_t r = 0;
      for (size_t item = 0; item < task.items.size(); ++item) {
        json ll = json::array(), greedy = json::array();
        for (; r < o.requests.requests.size() && o.requests.requests[r].item == int(item); ++r) {
          ll.push_back(o.scores[r].loglikelihood);
          greedy.push_back(o.scores[r].greedy);
        }
        per_example += json({{"task", task.spec.name}, {"index", item}, {"loglikelihoods", ll}, {"greedy", greedy},
                             {"gold", task.items[item].gold}}).dump() + "\n";
      }
    }
  }
  Status written = Status::Ok();
  if (comm.rank() == 0) {
    if (!a.per_example.empty()) written = WriteFileAtomic(a.per_example, per_example);
    if (written.ok()) written = WriteFileAtomic(a.output, results.dump(2) + "\n");
    if (written.ok() && !a.quiet) std::printf("%s", Summary(results).c_str());
  }
  return AgreeOnStatus(comm, written);
}

}  // namespace

Action SetupEvalCommand(CLI::App* sub) {
  auto a = std::make_shared<EvalArgs>();
  sub->add_option("--model", a->model, "a Hugging Face model directory (config.json + model.safetensors), e.g. a run's final/");
  sub->add_option("--tasks", a->tasks, "TASKS.yaml: the tasks (as a sweep's eval.tasks) and optionally the tokenizer");
  sub->add_option("-o,--output", a->output, "where to write the results (JSON)");
  sub->add_option("--per-example", a->per_example, "also write one JSON line per item: log-likelihoods, greedy, gold");
  sub->add_option("--device", a->device, "cpu or cuda (default cpu)")->check(CLI::IsMember({"cpu", "cuda"}));
  sub->add_option("--batch-tokens", a->batch_tokens, "tokens per forward pass, padding included (default 8192)");
  sub->add_option("--threads", a->threads, "CPU threads for LibTorch (default: every core)");
  sub->add_option("--limit", a->limit, "score only the first N items of each task (default: all)");
  sub->add_flag("-q,--quiet", a->quiet, "print nothing but errors");
  return [a] { return CatchTorchErrors([&] { return Eval(*a); }, "lower --batch-tokens"); };
}

}  // namespace saturn
