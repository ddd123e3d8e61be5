// The optimizers a job can name (adamw, adam, sgd), written out rather than taken from
// torch::optim so that their state is plain named tensors: checkpoints store it as safetensors,
// and resuming restores it bit for bit. Semantics follow torch.optim:
//   adamw: Adam with decoupled weight decay, p -= lr x wd x p before the Adam update;
//   adam:  weight decay added to the gradient (L2);
//   sgd:   momentum beta1 (dampening 0), weight decay added to the gradient.
// Weight decay applies to matrices and embeddings, never to biases or norm gains.
//
// The optimizer updates slots: a tensor and its gradient, under a parameter's name. A slot may
// be a whole parameter or the piece of one that a rank owns (FSDP shards); every update is
// elementwise, so pieces updated apart equal the whole updated at once.
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

struct OptimSlot {
  std::string name;     // the parameter's name; its state is saved as "<name>.exp_avg" etc.
  torch::Tensor value;  // updated in place
  torch::Tensor grad;   // read by step(); undefined: value.grad() at that moment
  bool decay = false;   // weight decay applies (a matrix or embedding piece)
  // Optional storage for the state (shaped as value): FSDP passes views of its flat shards so
  // that a unit's state gathers in one collective. Undefined: the optimizer allocates zeros.
  torch::Tensor m, v;
};

class Optimizer {
 public:
  Optimizer(const OptimizerSpec& spec, std::vector<OptimSlot> slots);
  // A slot per parameter, gradients read from .grad(), decay for dim >= 2.
  Optimizer(const OptimizerSpec& spec, const std::vector<std::pair<std::string, torch::Tensor>>& named_params);

  // Sum over slots of the squared gradient norm, in float64: a rank's share of the global norm.
  double grad_sq_norm() const;
  void scale_grads(double coef);
  // Clips to spec.grad_clip given the global norm (from every rank's grad_sq_norm); returns it.
  double clip_to(double global_norm);
  // Clips this optimizer's gradients alone to a total norm of spec.grad_clip; returns the norm before.
  double clip_gradients() { return clip_to(std::sqrt(grad_sq_norm())); }
  // One update at learning rate lr.
  void step(double lr);
  // Zeroes explicit gradients; drops .grad() of the others.
  void zero_grad();

  const OptimizerSpec& spec() const { return spec_; }
  long long updates() const { return updates_; }
  void set_updates(long long u) { updates_ = u; }
  const std::vector<OptimSlot>& slots() const { return slots_; }
  NamedTensors state() const;  // "<name>.exp_avg", "<name>.exp_avg_sq" or "<name>.momentum"
  Status load_state(const std::map<std::string, torch::Tensor>& tensors, long long updates, const std::string& where);

 private:
  torch::Tensor grad_of(const OptimSlot& s) const { return s.grad.defined() ? s.grad : s.value.grad(); }
  OptimizerSpec spec_;
  std::vector<OptimSlot> slots_;
  long long updates_ = 0;
  static constexpr double kEps = 1e-8;
};

// The squared L2 norm of g as a float64 scalar tensor, close to float64 rounding whatever g's
// size, so that a gradient cut in pieces (shards, stages) sums to the same norm.
torch::Tensor SquaredNorm(const torch::Tensor& g);

// The state names of one parameter under this optimizer ("<name>.exp_avg", ...), in order.
std::vector<std::string> OptimizerStateNames(const OptimizerSpec& spec, const std::string& param);

}  // namespace saturn
