// Building blocks of the transformer family, each matching its transformers counterpart
// numerically: GPT-2's Conv1D, Llama's RMSNorm, the activations, rotary embeddings and causal
// self-attention.
#pragma once

#include <string>

#include <torch/torch.h>

namespace saturn {

// The dtype for numerically sensitive steps (norms, softmax, loss): float16/bfloat16 are upcast to
// float32 as transformers does; float64 stays float64 (where transformers would round to float32)
// so that float64 finite-difference checks stay meaningful.
torch::ScalarType AtLeastFloat32(torch::ScalarType t);

// GPT-2's Conv1D: a linear layer whose weight is stored [in, out] (the transpose of nn.Linear),
// so that the parameter has transformers' layout and name ("weight", "bias").
class Conv1DImpl : public torch::nn::Module {
 public:
  Conv1DImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
};
TORCH_MODULE(Conv1D);

// Llama's RMSNorm: normalizes in float32 (float64 for float64 input), then scales by `weight`.
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(RMSNorm);

// A transformers activation by its ACT2FN name (see config.cc for the accepted ones).
torch::Tensor Activate(const std::string& name, const torch::Tensor& x);

// cos and sin of the rotary angles for positions 0..time-1: [time, rotary_dims], computed in
// float32 as transformers does (inv_freq = 1 / theta^(2i/dims), angles duplicated as
// cat(freqs, freqs)), then cast to `dtype`. Undefined tensors when rotary_dims is 0.
struct RotaryTables {
  torch::Tensor cos, sin;
};
RotaryTables MakeRotaryTables(int64_t time, int64_t rotary_dims, double theta, torch::ScalarType dtype,
                              const torch::Device& device);
// The same for explicit positions ([batch, time] int64, on the target device): tables [batch, 1,
// time, rotary_dims], row b, t holding position positions[b][t]; the same values as above.
RotaryTables MakeRotaryTables(const torch::Tensor& positions, int64_t rotary_dims, double theta,
                              torch::ScalarType dtype);
// x gathered along `dim` at rows: rows is [batch, r] int64, one list of indices into dim per batch
// element, shared by every other dimension; the result has x's shape with r at dim. Undefined
// rows: x itself. Evaluation uses it to run a block's queries on the scored positions only.
torch::Tensor AtRows(const torch::Tensor& x, const torch::Tensor& rows, int64_t dim = 1);
// Position-based tables ([batch, 1, time, rotary_dims]) at rows; undefined tables or rows: rot.
RotaryTables RotaryAtRows(const RotaryTables& rot, const torch::Tensor& rows);

// x: [batch, heads, time, head_dim]; rotates the first rotary_dims of each head with the
// rotate_half convention (x * cos + cat(-x2, x1) * sin) and passes the rest through.
torch::Tensor ApplyRotary(const torch::Tensor& x, const RotaryTables& rot);

// Causal softmax attention. q: [batch, heads, time, head_dim]; k, v: [batch, kv_heads, time,
// head_dim] with heads a multiple of kv_heads (query head h reads kv head h / (heads / kv_heads)).
// Scale 1/sqrt(head_dim); the softmax runs in at least float32. Returns [batch, heads, time, head_dim].
// mask undefined: causal (the training path, fused; as many queries as keys). Otherwise an
// additive mask [batch, 1, queries, keys] in q's dtype, 0 where query i may attend to key j and
// -inf elsewhere (AdditiveMask); every row needs a 0, else that query's output is NaN. With a
// mask, q may hold fewer positions than k, v (a subset of the queries; the output has q's).
torch::Tensor CausalAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const torch::Tensor& mask = {});
// bool [batch, time, time] (true: may attend) -> CausalAttention's additive mask in `dtype`.
torch::Tensor AdditiveMask(const torch::Tensor& allowed, torch::ScalarType dtype);

}  // namespace saturn
