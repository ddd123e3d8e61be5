#include "train/optimizer.h"

#include <cmath>

namespace saturn {

Optimizer::Optimizer(const OptimizerSpec& spec, std::vector<std::pair<std::string, torch::Tensor>> named_params)
    : spec_(spec) {
  torch::NoGradGuard no_grad;
  for (auto& [name, p] : named_params) {
    Param q{name, p, torch::zeros_like(p), {}, p.dim() >= 2};
    if (spec_.name != "sgd") q.v = torch::zeros_like(p);
    params_.push_back(std::move(q));
  }
}

void Optimizer::zero_grad() {
  for (auto& q : params_)
    if (q.p.grad().defined()) q.p.mutable_grad() = torch::Tensor();
}

double Optimizer::clip_gradients() {
  torch::NoGradGuard no_grad;
  // As torch.nn.utils.clip_grad_norm_: the norm of the per-tensor norms, one sync at the end.
  std::vector<torch::Tensor> norms;
  for (auto& q : params_)
    if (q.p.grad().defined()) norms.push_back(q.p.grad().norm().to(torch::kFloat64));
  if (norms.empty()) return 0;
  const double norm = torch::stack(norms).norm().item<double>();
  if (spec_.grad_clip > 0 && norm > spec_.grad_clip) {
    const double coef = spec_.grad_clip / (norm + 1e-6);
    for (auto& q : params_)
      if (q.p.grad().defined()) q.p.grad().mul_(coef);
  }
  return norm;
}

void Optimizer::step(double lr) {
  torch::NoGradGuard no_grad;
  ++updates_;
  const double b1 = spec_.beta1, b2 = spec_.beta2, wd = spec_.weight_decay;
  const double bc1 = 1 - std::pow(b1, double(updates_)), bc2 = 1 - std::pow(b2, double(updates_));
  for (auto& q : params_) {
    if (!q.p.grad().defined()) continue;
    torch::Tensor g = q.p.grad();
    const bool decay = q.decay && wd > 0;
    if (spec_.name == "sgd") {
      if (decay) g = g.add(q.p, wd);
      if (b1 > 0) {
        // torch.optim.SGD: the first step's buffer is the gradient itself.
        if (updates_ == 1) q.m.copy_(g);
        else q.m.mul_(b1).add_(g);
        g = q.m;
      }
      q.p.add_(g, -lr);
      continue;
    }
    if (decay && spec_.name == "adamw") q.p.mul_(1 - lr * wd);
    if (decay && spec_.name == "adam") g = g.add(q.p, wd);
    q.m.mul_(b1).add_(g, 1 - b1);
    q.v.mul_(b2).addcmul_(g, g, 1 - b2);
    torch::Tensor denom = (q.v.sqrt() / std::sqrt(bc2)).add_(kEps);
    q.p.addcdiv_(q.m, denom, -lr / bc1);
  }
}

NamedTensors Optimizer::state() const {
  NamedTensors out;
  for (const auto& q : params_) {
    if (spec_.name == "sgd") {
      out.emplace_back(q.name + ".momentum", q.m);
    } else {
      out.emplace_back(q.name + ".exp_avg", q.m);
      out.emplace_back(q.name + ".exp_avg_sq", q.v);
    }
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
