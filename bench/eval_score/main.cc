// bench/eval_score/main.cc: the scorers of src/eval/scorer.h on synthetic multiple-choice requests with a
// randomly initialized model: (a) ScorePlain, (b) ScorePaddedToMax, (c) ScoreRequests without and
// (d) with shared contexts. Prints seconds and requests/s per scorer and the largest difference
// from (a) in log-likelihood, and the number of greedy flags that differ.
//
// saturn_bench_eval_score CONFIG.json [items=200] [device=cpu] [dtype=float32|bfloat16]
//                         [batch_tokens=8192] [padded_batch=8] [skip_plain=0]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "eval/scorer.h"
#include "model/config.h"
#include "model/gpt.h"

using namespace saturn;

namespace {

// HellaSwag-like items: a context of 20..300 tokens (1 in 10 longer than the model) and 4
// choices of 5..40 tokens.
std::vector<Request> Requests(int items, int vocab, int max_positions) {
  std::mt19937 rng(1);
  auto tokens = [&](int n) {
    std::vector<int32_t> t(n);
    for (auto& x : t) x = static_cast<int32_t>(rng() % vocab);
    return t;
  };
  std::vector<Request> reqs;
  for (int item = 0; item < items; ++item) {
    int context = rng() % 10 == 0 ? max_positions + static_cast<int>(rng() % 50) : 20 + static_cast<int>(rng() % 280);
    std::vector<int32_t> ctx = tokens(context);
    for (int c = 0; c < 4; ++c) reqs.push_back({item, c, ctx, tokens(5 + static_cast<int>(rng() % 36))});
  }
  return reqs;
}

double Seconds(const std::chrono::steady_clock::time_point& start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CONFIG.json [items] [device] [dtype] [batch_tokens] [padded_batch] [skip_plain]\n",
                 argv[0]);
    return 2;
  }
  auto cfg = LoadModelConfig(argv[1]);
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s\n", cfg.status().message().c_str());
    return 2;
  }
  const int items = argc > 2 ? std::stoi(argv[2]) : 200;
  const std::string device = argc > 3 ? argv[3] : "cpu";
  const std::string dtype = argc > 4 ? argv[4] : "float32";
  const int64_t batch_tokens = argc > 5 ? std::stoll(argv[5]) : 8192;
  const int padded_batch = argc > 6 ? std::stoi(argv[6]) : 8;
  const bool skip_plain = argc > 7 && std::string(argv[7]) == "1";

  CausalLM model(*cfg);
  model->init_weights(1);
  model->to(torch::Device(device), dtype == "bfloat16" ? torch::kBFloat16 : torch::kFloat32);
  const std::vector<Request> reqs = Requests(items, cfg->vocab_size, cfg->max_positions);
  int64_t tokens = 0;
  for (const Request& r : reqs) tokens += r.context.size() + r.continuation.size();
  std::printf("%s on %s %s: %zu requests, %lld tokens\n", argv[1], device.c_str(), dtype.c_str(), reqs.size(),
              static_cast<long long>(tokens));

  auto sync = [&] {
    if (device.rfind("cuda", 0) == 0) torch::cuda::synchronize();
  };
  std::vector<Score> reference;
  auto run = [&](const char* name, const std::function<std::vector<Score>()>& fn) {
    fn();  // warm-up (allocator, kernels)
    sync();
    auto start = std::chrono::steady_clock::now();
    std::vector<Score> got = fn();
    sync();
    double s = Seconds(start);
    if (reference.empty()) reference = got;
    double diff = 0;
    int greedy = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      diff = std::max(diff, std::abs(got[i].loglikelihood - reference[i].loglikelihood));
      greedy += got[i].greedy != reference[i].greedy;
    }
    std::printf("%-28s %9.3f s %10.1f req/s   max |dll| %.2e   greedy differs %d\n", name, s, reqs.size() / s, diff,
                greedy);
  };
  if (!skip_plain) run("(a) plain", [&] { return ScorePlain(model, reqs, device); });
  run("(b) padded to max", [&] { return ScorePaddedToMax(model, reqs, padded_batch, device); });
  run("(c) sorted, no sharing", [&] { return ScoreRequests(model, reqs, {batch_tokens, false, device}); });
  run("(d) sorted, shared contexts", [&] { return ScoreRequests(model, reqs, {batch_tokens, true, device}); });
  return 0;
}
