// The optimizers a job can name (adamw, adam, sgd), written out rather than taken from
// torch::optim so that their state is plain named tensors: checkpoints store it as safetensors,
// and resuming restores it bit for bit. Semantics follow torch.optim:
//   adamw: Adam with decoupled weight decay, p -= lr x wd x p before the Adam update;
//   adam:  weight decay added to the gradient (L2);
//   sgd:   momentum beta1 (dampening 0), weight decay added to the gradient.
// Weight decay applies to matrices and embeddings (dim >= 2), never to biases or norm gains.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "config/sweep.h"
#include "model/safetensors.h"
#include "util/status.h"

namespace saturn {

class Optimizer {
 public:
  Optimizer(const OptimizerSpec& spec, std::vector<std::pair<std::string, torch::Tensor>> named_params);

  // Clips the gradients to a total norm of spec.grad_clip (when > 0); returns the norm before.
  double clip_gradients();
  // One update at learning rate lr, from each parameter's .grad().
  void step(double lr);
  void zero_grad();

  long long updates() const { return updates_; }
  NamedTensors state() const;  // "<param>.exp_avg", "<param>.exp_avg_sq" or "<param>.momentum"
  Status load_state(const std::map<std::string, torch::Tensor>& tensors, long long updates, const std::string& where);

 private:
  struct Param {
    std::string name;
    torch::Tensor p, m, v;
    bool decay;
  };
  OptimizerSpec spec_;
  std::vector<Param> params_;
  long long updates_ = 0;
  static constexpr double kEps = 1e-8;
};

}  // namespace saturn
