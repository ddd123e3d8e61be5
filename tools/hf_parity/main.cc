// Driver for the transformers parity check (parity.py):
//   hf_parity save CONFIG_JSON SEED DIR          init_weights(SEED), SaveHfModel(DIR)
//   hf_parity logits DIR IDS OUT DEVICE [ckpt]   LoadHfModel(DIR) on DEVICE (cpu | cuda), logits
//                                                of IDS (safetensors "ids" [batch, time] int64)
//                                                into OUT ("logits" float32, "loss" and, with
//                                                ckpt, "grad_max_diff" between checkpointed and
//                                                plain backward)
//   hf_parity save CONFIG_JSON SEED DIR DTYPE SHARD_BYTES   the same in f32 | bf16 | f16, sharded
//   hf_parity score CONFIG_JSON DEVICE           saturn eval's batched, context-sharing scorer on
//                                                DEVICE against the plain loop on the CPU, on
//                                                random requests; prints the largest difference
//   hf_parity train CONFIG_JSON DEVICE STEPS     trains on a repeating pattern with saturn's
//                                                optimizer, bf16 autocast on cuda; prints losses
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "model/hf_checkpoint.h"
#include "model/safetensors.h"
#include "eval/scorer.h"
#include "train/autocast.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"

using namespace saturn;

namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "hf_parity: %s\n", s.message().c_str());
  return s.exit_code();
}

// Loss (next-token, targets = ids shifted) and parameter gradients.
std::pair<torch::Tensor, std::map<std::string, torch::Tensor>> LossAndGrads(CausalLM& m, const torch::Tensor& ids) {
  m->zero_grad();
  int64_t t = ids.size(1);
  torch::Tensor loss = m->loss(ids.narrow(1, 0, t - 1), ids.narrow(1, 1, t - 1));
  loss.backward();
  std::map<std::string, torch::Tensor> g;
  for (const auto& item : m->named_parameters()) g[item.key()] = item.value().grad().clone();
  return {loss.detach(), g};
}

}  // namespace

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "save" && (argc == 5 || argc == 7)) {
    auto cfg = LoadModelConfig(argv[2]);
    if (!cfg.ok()) return Fail(cfg.status());
    CausalLM m(*cfg);
    m->init_weights(std::stoull(argv[3]));
    torch::ScalarType dtype = torch::kFloat32;
    int64_t shard = 0;
    if (argc == 7) {
      std::string d = argv[5];
      dtype = d == "bf16" ? torch::kBFloat16 : d == "f16" ? torch::kFloat16 : torch::kFloat32;
      shard = std::strtoll(argv[6], nullptr, 10);
    }
    Status s = SaveHfModel(argv[4], m, dtype, shard);
    return s.ok() ? 0 : Fail(s);
  }
  if (cmd == "score" && argc == 4) {
    auto cfg = LoadModelConfig(argv[2]);
    if (!cfg.ok()) return Fail(cfg.status());
    CausalLM m(*cfg);
    m->init_weights(3);
    torch::manual_seed(5);
    auto rand_tokens = [&](int64_t n) {
      torch::Tensor t = torch::randint(0, cfg->vocab_size, {n}, torch::kInt64);
      return std::vector<int32_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + n);
    };
    // Items with 1-4 choices sharing a context; some contexts longer than the model.
    std::vector<Request> reqs;
    for (int item = 0; item < 60; ++item) {
      const int64_t ctx = item % 7 == 0 ? cfg->max_positions + 5 : 1 + (item * 13) % 90;
      std::vector<int32_t> context = rand_tokens(ctx);
      for (int c = 0; c < 1 + item % 4; ++c) reqs.push_back({item, c, context, rand_tokens(1 + (item + c * 5) % 17)});
    }
    std::vector<Score> plain = ScorePlain(m, reqs, "cpu");
    m->to(torch::Device(argv[3]));
    ScoreOptions opt;
    opt.device = argv[3];
    opt.batch_tokens = 1024;
    std::vector<Score> fast = ScoreRequests(m, reqs, opt);
    double worst = 0;
    int greedy_diff = 0;
    for (size_t i = 0; i < reqs.size(); ++i) {
      worst = std::max(worst, std::abs(fast[i].loglikelihood - plain[i].loglikelihood));
      greedy_diff += fast[i].greedy != plain[i].greedy;
    }
    std::printf("requests %zu max_abs_diff %.3e greedy_diff %d\n", reqs.size(), worst, greedy_diff);
    return 0;
  }
  if (cmd == "train" && argc == 5) {
    auto cfg = LoadModelConfig(argv[2]);
    if (!cfg.ok()) return Fail(cfg.status());
    torch::Device device(argv[3]);
    CausalLM m(*cfg);
    m->init_weights(1);
    m->to(device);
    std::vector<std::pair<std::string, torch::Tensor>> params;
    for (auto& p : m->named_parameters()) params.emplace_back(p.key(), p.value());
    OptimizerSpec spec;
    spec.lr = 1e-3;
    Optimizer opt(spec, params);
    torch::manual_seed(0);
    torch::Tensor pattern = torch::randint(0, cfg->vocab_size, {17}, torch::kInt64);
    torch::Tensor b = pattern.repeat({8, 8}).narrow(1, 0, 65).to(device);  // a learnable stream
    const int steps = std::atoi(argv[4]);
    for (int s = 0; s < steps; ++s) {
      opt.zero_grad();
      torch::Tensor loss;
      {
        Autocast ac(device.is_cuda(), device.type());
        loss = m->loss(b.narrow(1, 0, 64), b.narrow(1, 1, 64));
      }
      loss.backward();
      double norm = opt.clip_gradients();
      opt.step(LearningRate(spec, s, steps, 2));
      std::printf("step %d loss %.6f grad_norm %.4f\n", s + 1, loss.item<double>(), norm);
    }
    return 0;
  }
  if (cmd == "logits" && (argc == 6 || argc == 7)) {
    torch::Device device(argv[5]);
    auto loaded = LoadHfModel(argv[2]);
    if (!loaded.ok()) return Fail(loaded.status());
    CausalLM m = *loaded;
    m->to(device);
    auto ids = ReadSafetensors(argv[3]);
    if (!ids.ok()) return Fail(ids.status());
    torch::Tensor x = ids->at("ids").to(torch::kInt64).to(device);
    NamedTensors out;
    {
      torch::NoGradGuard no_grad;
      out.emplace_back("logits", m->forward(x).to(torch::kCPU));
    }
    auto [loss, grads] = LossAndGrads(m, x);
    out.emplace_back("loss", loss.to(torch::kCPU));
    if (argc == 7) {
      m->options().activation_checkpointing = true;
      auto [loss2, grads2] = LossAndGrads(m, x);
      double diff = (loss2 - loss).abs().item<double>();
      for (const auto& [name, g] : grads) diff = std::max(diff, (grads2[name] - g).abs().max().item<double>());
      out.emplace_back("grad_max_diff", torch::tensor(diff));
    }
    Status s = WriteSafetensors(argv[4], out, torch::kFloat32);
    return s.ok() ? 0 : Fail(s);
  }
  std::fprintf(stderr, "usage: see the comment at the top of tools/hf_parity/main.cc\n");
  return 2;
}
