// The C++ side of bench/eval:
//   saturn_bench_eval make-model CONFIG.json SEED DIR   a random-weight model in the HF layout
//   saturn_bench_eval baselines DIR TASKS.yaml ITEMS PADDED_BATCH THREADS OUT.jsonl [DEVICE [PADDED_ITEMS]]
//       scores the first ITEMS items of every task with (a) ScorePlain and the first PADDED_ITEMS
//       (default and at most ITEMS) with (b) ScorePaddedToMax, prints one JSON line per task
//       (seconds, items, and the token counts of saturn's packing: tokens the model runs and
//       continuation tokens scored), and writes the per-example log-likelihoods of (a) and (b)
//       to OUT.jsonl ("padded" only for (b)'s items)
//   saturn_bench_eval matmul THREADS [DEVICE]           float32 torch::mm GFLOP/s: 2048^3 on the
//       CPU, 8192^3 on cuda (TF32 off, LibTorch's default for matmul)
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "config/tasks_file.h"
#include "data/tokenizer.h"
#include "eval/packing.h"
#include "eval/requests.h"
#include "eval/scorer.h"
#include "eval/task.h"
#include "model/hf_checkpoint.h"
#include "util/clock.h"
#include "util/heap.h"

using namespace saturn;
using nlohmann::json;

namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "saturn_bench_eval: %s\n", s.message().c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // The allocator policy of saturn eval, so that (a), (b) and (c) differ only in how they score.
  KeepLargeAllocationsInHeap();
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "make-model" && argc == 5) {
    auto cfg = LoadModelConfig(argv[2]);
    if (!cfg.ok()) return Fail(cfg.status());
    CausalLM m(*cfg);
    m->init_weights(std::stoull(argv[3]));
    Status s = SaveHfModel(argv[4], m);
    return s.ok() ? 0 : Fail(s);
  }
  if (cmd == "matmul" && (argc == 3 || argc == 4)) {
    torch::set_num_threads(std::stoi(argv[2]));
    const torch::Device device(argc == 4 ? argv[3] : "cpu");
    const int64_t n = device.is_cuda() ? 8192 : 2048;
    const auto opt = torch::TensorOptions().device(device);
    torch::Tensor a = torch::randn({n, n}, opt), b = torch::randn({n, n}, opt), c;
    torch::mm(a, b).sum().item<float>();  // warm up; item() waits for the device
    auto t0 = std::chrono::steady_clock::now();
    const int reps = 10;
    for (int i = 0; i < reps; ++i) c = torch::mm(a, b);
    c.sum().item<float>();
    std::printf("%.3f\n", 2.0 * n * n * n * reps / SecondsSince(t0) / 1e9);
    return 0;
  }
  if (cmd == "baselines" && argc >= 8 && argc <= 10) {
    const std::string device = argc >= 9 ? argv[8] : "cpu";
    torch::set_num_threads(std::stoi(argv[6]));
    auto model = LoadHfModel(argv[2]);
    if (!model.ok()) return Fail(model.status());
    (*model)->to(torch::Device(device));
    auto tf = LoadTasksFile(argv[3]);
    if (!tf.ok()) return Fail(tf.status());
    auto tok = Tokenizer::Load(tf->tokenizer);
    if (!tok.ok()) return Fail(tok.status());
    const int items = std::stoi(argv[4]), padded_batch = std::stoi(argv[5]);
    const int padded_items = std::max(1, std::min(items, argc == 10 ? std::stoi(argv[9]) : items));
    std::ofstream out(argv[7]);
    for (const TaskSpec& spec : tf->tasks) {
      auto task = LoadTask(spec);
      if (!task.ok()) return Fail(task.status());
      // Token counts of saturn's packing over the whole task, for its useful FLOP/s.
      TaskRequests all = BuildRequests(*task, **tok);
      int64_t run_tokens = 0, scored_tokens = 0;
      for (const Pack& p : PackRequests(all.requests, (*model)->config().max_positions, true)) {
        run_tokens += int64_t(p.tokens.size());
        scored_tokens += int64_t(p.targets.size());
      }
      const size_t full_items = task->items.size();
      if (int(task->items.size()) > items) task->items.resize(size_t(items));
      TaskRequests tr = BuildRequests(*task, **tok);
      auto t0 = std::chrono::steady_clock::now();
      std::vector<Score> plain = ScorePlain(*model, tr.requests, device);
      const double plain_s = SecondsSince(t0);
      std::vector<Request> first;  // (b)'s requests: requests come in item order
      for (const Request& r : tr.requests)
        if (r.item < padded_items) first.push_back(r);
      t0 = std::chrono::steady_clock::now();
      std::vector<Score> padded = ScorePaddedToMax(*model, first, padded_batch, device);
      const double padded_s = SecondsSince(t0);
      std::printf("%s\n", json({{"task", spec.name}, {"items", task->items.size()}, {"full_items", full_items},
                                {"padded_items", std::min<size_t>(task->items.size(), size_t(padded_items))},
                                {"plain_seconds", plain_s}, {"padded_seconds", padded_s},
                                {"run_tokens", run_tokens}, {"scored_tokens", scored_tokens}}).dump().c_str());
      std::fflush(stdout);
      for (size_t r = 0; r < tr.requests.size(); ++r) {
        json line = {{"task", spec.name}, {"item", tr.requests[r].item}, {"choice", tr.requests[r].choice},
                     {"plain", plain[r].loglikelihood}};
        if (r < padded.size()) line["padded"] = padded[r].loglikelihood;
        out << line.dump() << "\n";
      }
    }
    return 0;
  }
  std::fprintf(stderr, "usage: see the comment at the top of bench/eval_main.cc\n");
  return 2;
}
