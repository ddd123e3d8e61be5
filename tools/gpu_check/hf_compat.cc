// A small driver of the model layer for checks against transformers (check.sh, run.py):
//   hf_compat logits MODEL_DIR IDS.safetensors OUT.safetensors cpu|cuda
//   hf_compat save CONFIG.json SEED OUT_DIR f32|bf16|f16 MAX_SHARD_BYTES
//   hf_compat train CONFIG.json cpu|cuda STEPS       (bf16 autocast on cuda; prints the losses)
#include <cstdio>
#include <cstdlib>
#include <string>

#include <torch/torch.h>

#include "model/hf_checkpoint.h"
#include "model/safetensors.h"
#include "train/autocast.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"

namespace {

int Fail(const saturn::Status& st) {
  std::fprintf(stderr, "hf_compat: %s\n", st.message().c_str());
  return st.exit_code() ? st.exit_code() : 1;
}

torch::ScalarType Dtype(const std::string& s) {
  return s == "bf16" ? torch::kBFloat16 : s == "f16" ? torch::kFloat16 : torch::kFloat32;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "logits" && argc == 6) {
    auto model = saturn::LoadHfModel(argv[2]);
    if (!model.ok()) return Fail(model.status());
    auto ids = saturn::ReadSafetensors(argv[3]);
    if (!ids.ok()) return Fail(ids.status());
    torch::Device dev(std::string(argv[5]) == "cuda" ? torch::kCUDA : torch::kCPU);
    (*model)->to(dev);
    (*model)->eval();
    torch::NoGradGuard no_grad;
    torch::Tensor logits = (*model)->forward(ids->at("ids").to(dev)).to(torch::kCPU, torch::kFloat32);
    auto st = saturn::WriteSafetensors(argv[4], {{"logits", logits}}, torch::kFloat32);
    return st.ok() ? 0 : Fail(st);
  }
  if (cmd == "save" && argc == 7) {
    auto cfg = saturn::LoadModelConfig(argv[2]);
    if (!cfg.ok()) return Fail(cfg.status());
    saturn::CausalLM model(*cfg);
    model->init_weights(std::strtoull(argv[3], nullptr, 10));
    auto st = saturn::SaveHfModel(argv[4], model, Dtype(argv[5]), std::strtoll(argv[6], nullptr, 10));
    return st.ok() ? 0 : Fail(st);
  }
  if (cmd == "train" && argc == 5) {
    auto cfg = saturn::LoadModelConfig(argv[2]);
    if (!cfg.ok()) return Fail(cfg.status());
    torch::Device dev(std::string(argv[3]) == "cuda" ? torch::kCUDA : torch::kCPU);
    saturn::CausalLM model(*cfg);
    model->init_weights(1);
    model->to(dev);
    std::vector<std::pair<std::string, torch::Tensor>> params;
    for (auto& p : model->named_parameters()) params.emplace_back(p.key(), p.value());
    saturn::OptimizerSpec spec;
    spec.lr = 1e-3;
    saturn::Optimizer opt(spec, params);
    // A learnable stream: a repeating pattern of 17 tokens.
    torch::Tensor pattern = torch::randint(0, cfg->vocab_size, {17}, torch::kInt64);
    torch::Tensor b = pattern.repeat({8, 8}).slice(1, 0, 129).to(dev);
    const int steps = std::atoi(argv[4]);
    for (int s = 0; s < steps; ++s) {
      opt.zero_grad();
      torch::Tensor loss;
      {
        saturn::Autocast ac(dev.is_cuda(), dev.type());
        loss = model->loss(b.slice(1, 0, 128), b.slice(1, 1));
      }
      loss.backward();
      double norm = opt.clip_gradients();
      opt.step(saturn::LearningRate(spec, s, steps, 2));
      std::printf("step %d loss %.6f grad_norm %.4f dtype %s\n", s + 1, loss.item<double>(), norm,
                  c10::toString(loss.scalar_type()));
    }
    return 0;
  }
  std::fprintf(stderr, "usage: see the comment at the top of tools/gpu_check/hf_compat.cc\n");
  return 2;
}
