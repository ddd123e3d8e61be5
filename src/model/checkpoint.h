// Activation checkpointing: LibTorch C++ has no torch.utils.checkpoint, so this is the reentrant
// variant as a custom autograd Function. Forward runs `fn` without recording a graph and keeps
// only its input; backward runs `fn` again with grad enabled on a detached copy of the input and
// backpropagates through it, which accumulates the parameters' .grad (through their usual
// AccumulateGrad nodes, so hooks fire) and yields the input's gradient.
#pragma once

#include <functional>

#include <torch/torch.h>

namespace saturn {

// fn must be deterministic (the recomputation must equal the original: no dropout or other
// randomness) and must keep alive whatever it needs until backward (capture by value).
// Gradients are those of calling fn(x) directly; when grad mode is off, it is just fn(x).
torch::Tensor Checkpoint(std::function<torch::Tensor(const torch::Tensor&)> fn, const torch::Tensor& x);

}  // namespace saturn
