#include "model/checkpoint.h"

#include <utility>

namespace saturn {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Carries fn from forward to backward inside the autograd context (saved_data holds IValues).
struct FnHolder : torch::CustomClassHolder {
  explicit FnHolder(std::function<torch::Tensor(const torch::Tensor&)> f) : fn(std::move(f)) {}
  std::function<torch::Tensor(const torch::Tensor&)> fn;
};

class CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
 public:
  // Function::apply runs this with grad mode off: no graph, no saved activations.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, c10::intrusive_ptr<FnHolder> holder,
                               bool x_needs_grad) {
    ctx->save_for_backward({x});
    ctx->saved_data["x_needs_grad"] = x_needs_grad;
    torch::Tensor out = holder->fn(x);
    ctx->saved_data["fn"] = c10::IValue::make_capsule(std::move(holder));
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    torch::Tensor x = ctx->get_saved_variables()[0];
    auto holder = c10::static_intrusive_pointer_cast<FnHolder>(ctx->saved_data["fn"].toCapsule());
    const bool x_needs_grad = ctx->saved_data["x_needs_grad"].toBool();
    torch::Tensor input = x.detach().requires_grad_(x_needs_grad);
    torch::Tensor out;
    {
      // The engine runs backward with grad mode off (unless create_graph): turn it on to record
      // the recomputation.
      torch::AutoGradMode enable(true);
      out = holder->fn(input);
    }
    torch::Tensor grad = grad_outputs[0].defined() ? grad_outputs[0] : torch::zeros_like(out);
    if (out.requires_grad()) torch::autograd::backward({out}, {grad});
    return {x_needs_grad ? input.grad() : torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor Checkpoint(std::function<torch::Tensor(const torch::Tensor&)> fn, const torch::Tensor& x) {
  if (!torch::GradMode::is_enabled()) return fn(x);
  // An input that needs no gradient (frozen embeddings) would make autograd treat the whole
  // Function as constant and skip the block's parameters: hand it a leaf that requires grad.
  const bool needs = x.requires_grad();
  return CheckpointFunction::apply(needs ? x : x.detach().requires_grad_(true),
                                   c10::make_intrusive<FnHolder>(std::move(fn)), needs);
}

}  // namespace saturn
