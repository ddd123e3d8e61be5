#include "train/optimizer.h"

#include <cmath>

namespace saturn {

Optimizer::Optimizer(const OptimizerSpec& spec, std::vector<OptimSlot> slots) : spec_(spec), slots_(std::move(slots)) {
  torch::NoGradGuard no_grad;
  for (auto& s : slots_) {
    if (!s.m.defined()) s.m = torch::zeros_like(s.value);
    if (spec_.name != "sgd" && !s.v.defined()) s.v = torch::zeros_like(s.value);
  }
}

Optimizer::Optimizer(const OptimizerSpec& spec, const std::vector<std::pair<std::string, torch::Tensor>>& named_params)
    : Optimizer(spec, [&] {
        std::vector<OptimSlot> slots;
        for (const auto& [name, p] : named_params) slots.push_back({name, p, {}, p.dim() >= 2, {}, {}});
        return slots;
      }()) {}

std::vector<std::string> OptimizerStateNames(const OptimizerSpec& spec, const std::string& param) {
  if (spec.name == "sgd") return {param + ".momentum"};
  return {param + ".exp_avg", param + ".exp_avg_sq"};
}

void Optimizer::zero_grad() {
  for (auto& s : slots_) {
    if (s.grad.defined()) s.grad.zero_();
    else if (s.value.grad().defined()) s.value.mutable_grad() = torch::Tensor();
  }
}

torch::Tensor SquaredNorm(const torch::Tensor& g) {
  // Blocks of 1024 in float32 (exact enough, and no float64 copy of the gradient: that costs a
  // step's worth of memory traffic), their squares summed in float64. One float32 norm over
  // millions of elements (an embedding's gradient) is off by ~1e-5, enough for ranks that hold
  // different pieces (FSDP shards, pipeline stages) to clip differently and drift apart.
  constexpr int64_t kBlock = 1024;
  torch::Tensor flat = g.reshape({-1});
  const int64_t whole = flat.numel() / kBlock * kBlock;
  torch::Tensor sq = torch::zeros({}, g.options().dtype(torch::kFloat64));
  if (whole > 0)
    sq = sq + torch::linalg_vector_norm(flat.narrow(0, 0, whole).view({-1, kBlock}), 2, {1}).to(torch::kFloat64).pow(2).sum();
  if (whole < flat.numel()) sq = sq + flat.narrow(0, whole, flat.numel() - whole).norm().to(torch::kFloat64).pow(2);
  return sq;
}

double Optimizer::grad_sq_norm() const {
  torch::NoGradGuard no_grad;
  // As torch.nn.utils.clip_grad_norm_: the norm of the per-tensor norms, one sync at the end.
  std::vector<torch::Tensor> squares;
  for (const auto& s : slots_) {
    torch::Tensor g = grad_of(s);
    if (g.defined() && g.numel() > 0) squares.push_back(SquaredNorm(g));
  }
  if (squares.empty()) return 0;
  return torch::stack(squares).sum().item<double>();
}

void Optimizer::scale_grads(double coef) {
  torch::NoGradGuard no_grad;
  for (auto& s : slots_) {
    torch::Tensor g = grad_of(s);
    if (g.defined()) g.mul_(coef);
  }
}

double Optimizer::clip_to(double norm) {
  if (spec_.grad_clip > 0 && norm > spec_.grad_clip) scale_grads(spec_.grad_clip / (norm + 1e-6));
  return norm;
}

void Optimizer::step(double lr) {
  torch::NoGradGuard no_grad;
  ++updates_;
  const double b1 = spec_.beta1, b2 = spec_.beta2, wd = spec_.weight_decay;
  const double bc1 = 1 - std::pow(b1, double(updates_)), bc2 = 1 - std::pow(b2, double(updates_));
  for (auto& q : slots_) {
    torch::Tensor g = grad_of(q);
    if (!g.defined() || q.value.numel() == 0) continue;
    torch::Tensor p = q.value;
    const bool decay = q.decay && wd > 0;
    if (spec_.name == "sgd") {
      if (decay) g = g.add(p, wd);
      if (b1 > 0) {
        // torch.optim.SGD: the first step's buffer is the gradient itself.
        if (updates_ == 1) q.m.copy_(g);
        else q.m.mul_(b1).add_(g);
        g = q.m;
      }
      p.add_(g, -lr);
      continue;
    }
    if (decay && spec_.name == "adamw") p.mul_(1 - lr * wd);
    if (decay && spec_.name == "adam") g = g.add(p, wd);
    q.m.mul_(b1).add_(g, 1 - b1);
    q.v.mul_(b2).addcmul_(g, g, 1 - b2);
    torch::Tensor denom = (q.v.sqrt() / std::sqrt(bc2)).add_(kEps);
    p.addcdiv_(q.m, denom, -lr / bc1);
  }
}

NamedTensors Optimizer::state() const {
  NamedTensors out;
  for (const auto& q : slots_) {
    const auto names = OptimizerStateNames(spec_, q.name);
    out.emplace_back(names[0], q.m);
    if (names.size() > 1) out.emplace_back(names[1], q.v);
  }
  return out;
}

Status Optimizer::load_state(const std::map<std::string, torch::Tensor>& tensors, long long updates,
                             const std::string& where) {
  torch::NoGradGuard no_grad;
  for (auto [name, t] : state()) {  // handles share the optimizer's storage
    auto it = tensors.find(name);
    if (it == tensors.end())
      return Status::UserError(where + ": optimizer state '" + name + "' is missing; the checkpoint is from "
                               "another model or optimizer");
    if (it->second.sizes() != t.sizes())
      return Status::UserError(where + ": optimizer state '" + name + "' has the wrong shape");
    t.copy_(it->second);
  }
  updates_ = updates;
  return Status::Ok();
}

}  // namespace saturn
