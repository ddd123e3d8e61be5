// Driver for the transformers parity check (parity.py):
//   hf_parity save CONFIG_JSON SEED DIR          init_weights(SEED), SaveHfModel(DIR)
//   hf_parity logits DIR IDS OUT DEVICE [ckpt]   LoadHfModel(DIR) on DEVICE (cpu | cuda), logits
//                                                of IDS (safetensors "ids" [batch, time] int64)
//                                                into OUT ("logits" float32, "loss" and, with
//                                                ckpt, "grad_max_diff" between checkpointed and
//                                                plain backward)
#include <cstdio>
#include <string>

#include "model/hf_checkpoint.h"
#include "model/safetensors.h"

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
  if (cmd == "save" && argc == 5) {
    auto cfg = LoadModelConfig(argv[2]);
    if (!cfg.ok()) return Fail(cfg.status());
    CausalLM m(*cfg);
    m->init_weights(std::stoull(argv[3]));
    Status s = SaveHfModel(argv[4], m);
    return s.ok() ? 0 : Fail(s);
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
  std::fprintf(stderr, "usage: hf_parity save CONFIG SEED DIR | hf_parity logits DIR IDS OUT DEVICE [ckpt]\n");
  return 2;
}
