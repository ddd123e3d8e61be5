// The trainer's parts: learning-rate schedule, optimizers (against torch::optim), gradient
// clipping, and gradient accumulation against one big batch.
#include <cmath>

#include <torch/torch.h>

#include "model/gpt.h"
#include "train/autocast.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"

// LibTorch pulls in glog, whose one-argument CHECK would shadow Catch's: include Catch last.
#undef CHECK
#include <catch2/catch.hpp>

namespace {

saturn::OptimizerSpec Spec(const std::string& name) {
  saturn::OptimizerSpec o;
  o.name = name;
  o.lr = 1e-2;
  o.weight_decay = 0.1;
  o.beta1 = 0.9;
  o.beta2 = 0.95;
  return o;
}

// A matrix (decayed) and a vector (not decayed), in float64.
std::vector<torch::Tensor> Params(uint64_t seed) {
  torch::manual_seed(seed);
  return {torch::randn({5, 3}, torch::kFloat64).requires_grad_(), torch::randn({3}, torch::kFloat64).requires_grad_()};
}

void SetGrads(const std::vector<torch::Tensor>& ps, int step) {
  torch::manual_seed(100 + step);
  for (const auto& p : ps) p.mutable_grad() = torch::randn_like(p);
}

saturn::ModelConfig TinyGpt2() {
  saturn::ModelConfig c;
  c.model_type = "gpt2";
  c.vocab_size = 97;
  c.max_positions = 32;
  c.hidden = 32;
  c.layers = 2;
  c.heads = 4;
  c.kv_heads = 4;
  c.intermediate = 128;
  return c;
}

}  // namespace

TEST_CASE("learning rate: linear warmup, then cosine to the floor", "[train]") {
  saturn::OptimizerSpec o;
  o.lr = 1.0;
  o.final_lr_fraction = 0.1;
  CHECK(saturn::LearningRate(o, 0, 110, 10) == Approx(0.1));
  CHECK(saturn::LearningRate(o, 9, 110, 10) == Approx(1.0));
  CHECK(saturn::LearningRate(o, 10, 110, 10) == Approx(1.0));
  CHECK(saturn::LearningRate(o, 60, 110, 10) == Approx(0.55));  // half way down the cosine
  CHECK(saturn::LearningRate(o, 110, 110, 10) == Approx(0.1));
  double prev = 2;
  for (int s = 10; s < 110; ++s) {
    double lr = saturn::LearningRate(o, s, 110, 10);
    CHECK(lr <= prev);
    CHECK(lr >= 0.1);
    prev = lr;
  }
  CHECK(saturn::LearningRate(o, 0, 5, 0) == Approx(1.0));  // no warmup
}

TEST_CASE("optimizers follow torch::optim step for step", "[train]") {
  for (std::string name : {"adamw", "adam", "sgd"}) {
    DYNAMIC_SECTION(name) {
      saturn::OptimizerSpec spec = Spec(name);
      auto mine = Params(1), ref = Params(1);
      saturn::Optimizer opt(spec, saturn::NamedTensors{{"w", mine[0]}, {"b", mine[1]}});
      std::unique_ptr<torch::optim::Optimizer> torch_opt;
      // Weight decay on the matrix only, as ours does.
      if (name == "adamw") {
        std::vector<torch::optim::OptimizerParamGroup> groups;
        groups.emplace_back(std::vector<torch::Tensor>{ref[0]}, std::make_unique<torch::optim::AdamWOptions>(
            torch::optim::AdamWOptions(spec.lr).betas({spec.beta1, spec.beta2}).eps(1e-8).weight_decay(spec.weight_decay)));
        groups.emplace_back(std::vector<torch::Tensor>{ref[1]}, std::make_unique<torch::optim::AdamWOptions>(
            torch::optim::AdamWOptions(spec.lr).betas({spec.beta1, spec.beta2}).eps(1e-8).weight_decay(0)));
        torch_opt = std::make_unique<torch::optim::AdamW>(std::move(groups));
      } else if (name == "adam") {
        std::vector<torch::optim::OptimizerParamGroup> groups;
        groups.emplace_back(std::vector<torch::Tensor>{ref[0]}, std::make_unique<torch::optim::AdamOptions>(
            torch::optim::AdamOptions(spec.lr).betas({spec.beta1, spec.beta2}).eps(1e-8).weight_decay(spec.weight_decay)));
        groups.emplace_back(std::vector<torch::Tensor>{ref[1]}, std::make_unique<torch::optim::AdamOptions>(
            torch::optim::AdamOptions(spec.lr).betas({spec.beta1, spec.beta2}).eps(1e-8).weight_decay(0)));
        torch_opt = std::make_unique<torch::optim::Adam>(std::move(groups));
      } else {
        std::vector<torch::optim::OptimizerParamGroup> groups;
        groups.emplace_back(std::vector<torch::Tensor>{ref[0]}, std::make_unique<torch::optim::SGDOptions>(
            torch::optim::SGDOptions(spec.lr).momentum(spec.beta1).weight_decay(spec.weight_decay)));
        groups.emplace_back(std::vector<torch::Tensor>{ref[1]}, std::make_unique<torch::optim::SGDOptions>(
            torch::optim::SGDOptions(spec.lr).momentum(spec.beta1).weight_decay(0)));
        torch_opt = std::make_unique<torch::optim::SGD>(std::move(groups), torch::optim::SGDOptions(spec.lr));
      }
      for (int step = 0; step < 6; ++step) {
        SetGrads(mine, step);
        SetGrads(ref, step);
        opt.step(spec.lr);
        torch_opt->step();
      }
      for (int i = 0; i < 2; ++i) CHECK(torch::allclose(mine[i], ref[i], 1e-12, 1e-12));
      CHECK(!torch::allclose(mine[0], Params(1)[0]));  // it did move
      CHECK(opt.updates() == 6);
    }
  }
}

TEST_CASE("optimizer state round trips through named tensors", "[train]") {
  auto a = Params(2), b = Params(2);
  saturn::Optimizer oa(Spec("adamw"), saturn::NamedTensors{{"w", a[0]}, {"b", a[1]}}),
      ob(Spec("adamw"), saturn::NamedTensors{{"w", b[0]}, {"b", b[1]}});
  for (int s = 0; s < 3; ++s) SetGrads(a, s), oa.step(1e-2);
  std::map<std::string, torch::Tensor> st;
  for (auto& [n, t] : oa.state()) st[n] = t.clone();
  {
    torch::NoGradGuard g;
    b[0].copy_(a[0]), b[1].copy_(a[1]);
  }
  REQUIRE(ob.load_state(st, oa.updates(), "test").ok());
  SetGrads(a, 9), SetGrads(b, 9);
  oa.step(1e-2), ob.step(1e-2);
  CHECK(torch::equal(a[0], b[0]));
  CHECK(torch::equal(a[1], b[1]));
  st.erase("w.exp_avg");
  auto bad = ob.load_state(st, 1, "ckpt/optimizer.safetensors");
  REQUIRE(!bad.ok());
  CHECK_THAT(bad.message(), Catch::Contains("ckpt/optimizer.safetensors") && Catch::Contains("w.exp_avg"));
}

TEST_CASE("gradient clipping reports the norm before and clips to the limit", "[train]") {
  auto p = Params(3);
  saturn::OptimizerSpec spec = Spec("adamw");
  spec.grad_clip = 0.5;
  saturn::Optimizer opt(spec, saturn::NamedTensors{{"w", p[0]}, {"b", p[1]}});
  SetGrads(p, 0);
  const double want = std::sqrt(p[0].grad().pow(2).sum().item<double>() + p[1].grad().pow(2).sum().item<double>());
  CHECK(opt.clip_gradients() == Approx(want));
  const double after = std::sqrt(p[0].grad().pow(2).sum().item<double>() + p[1].grad().pow(2).sum().item<double>());
  CHECK(after == Approx(0.5).epsilon(1e-5));
}

TEST_CASE("gradient accumulation over k micro-batches equals one big batch", "[train]") {
  torch::manual_seed(0);
  saturn::CausalLM big(TinyGpt2()), acc(TinyGpt2());
  big->init_weights(5);
  acc->init_weights(5);
  torch::Tensor tokens = torch::randint(0, 97, {4, 17}, torch::kInt64);
  torch::Tensor ids = tokens.slice(1, 0, 16), targets = tokens.slice(1, 1);
  big->loss(ids, targets).backward();
  const int k = 4;
  double sum = 0;
  for (int i = 0; i < k; ++i) {
    torch::Tensor l = acc->loss(ids.slice(0, i, i + 1), targets.slice(0, i, i + 1));
    (l / double(k)).backward();
    sum += l.item<double>();
  }
  auto pb = big->named_parameters(), pa = acc->named_parameters();
  REQUIRE(pb.size() == pa.size());
  for (size_t i = 0; i < pb.size(); ++i) {
    INFO(pb[i].key());
    CHECK(torch::allclose(pb[i].value().grad(), pa[i].value().grad(), 1e-4, 1e-6));
  }
  CHECK(sum / k == Approx(big->loss(ids, targets).item<double>()).epsilon(1e-5));
}

TEST_CASE("bf16 autocast applies inside its scope only", "[train]") {
  torch::Tensor a = torch::randn({4, 4}), b = torch::randn({4, 4});
  {
    saturn::Autocast on(true, torch::kCPU);
    CHECK(torch::mm(a, b).scalar_type() == torch::kBFloat16);
  }
  CHECK(torch::mm(a, b).scalar_type() == torch::kFloat32);
  {
    saturn::Autocast off(false, torch::kCPU);
    CHECK(torch::mm(a, b).scalar_type() == torch::kFloat32);
  }
}
