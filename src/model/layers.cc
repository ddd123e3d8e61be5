#include "model/layers.h"

#include <cmath>
#include <limits>

#include <torch/version.h>

namespace saturn {

torch::ScalarType AtLeastFloat32(torch::ScalarType t) {
  return t == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

Conv1DImpl::Conv1DImpl(int64_t in, int64_t out) {
  weight = register_parameter("weight", torch::empty({in, out}));
  bias = register_parameter("bias", torch::zeros({out}));
  torch::NoGradGuard no_grad;
  weight.normal_(0, 0.02);
}

torch::Tensor Conv1DImpl::forward(const torch::Tensor& x) {
  auto shape = x.sizes().vec();
  shape.back() = weight.size(1);
  return torch::addmm(bias, x.reshape({-1, x.size(-1)}), weight).view(shape);
}

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = x.to(AtLeastFloat32(x.scalar_type()));
  torch::Tensor variance = h.pow(2).mean(-1, /*keepdim=*/true);
  h = h * torch::rsqrt(variance + eps);
  return weight * h.to(x.scalar_type());
}

torch::Tensor Activate(const std::string& name, const torch::Tensor& x) {
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return torch::gelu(x, "tanh");
  if (name == "gelu") return torch::gelu(x);
  if (name == "silu") return torch::silu(x);
  if (name == "relu") return torch::relu(x);
  TORCH_CHECK(false, "unknown activation ", name, " (config.cc admits only known ones)");
}

RotaryTables MakeRotaryTables(int64_t time, int64_t rotary_dims, double theta, torch::ScalarType dtype,
                              const torch::Device& device) {
  if (rotary_dims == 0) return {};
  // As transformers: float32 exponent arange(0, d, 2) / d, base ** exponent, outer with positions.
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  torch::Tensor exponent = torch::arange(0, rotary_dims, 2, torch::TensorOptions().dtype(torch::kInt64))
                               .to(torch::kFloat32) / static_cast<double>(rotary_dims);
  torch::Tensor inv_freq = 1.0 / torch::pow(theta, exponent);
  torch::Tensor t = torch::arange(time, f32);
  torch::Tensor freqs = torch::outer(t, inv_freq);
  torch::Tensor emb = torch::cat({freqs, freqs}, -1);
  return {emb.cos().to(device, dtype), emb.sin().to(device, dtype)};
}

RotaryTables MakeRotaryTables(const torch::Tensor& positions, int64_t rotary_dims, double theta,
                              torch::ScalarType dtype) {
  if (rotary_dims == 0) return {};
  TORCH_CHECK(positions.dim() == 2, "positions must be [batch, time]");
  // The same float32 steps as above (outer(t, f) is t[:, None] * f[None, :]), on positions' device.
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(positions.device());
  torch::Tensor exponent = torch::arange(0, rotary_dims, 2, f32.dtype(torch::kInt64)).to(torch::kFloat32) /
                           static_cast<double>(rotary_dims);
  torch::Tensor inv_freq = 1.0 / torch::pow(theta, exponent);
  torch::Tensor freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq;
  torch::Tensor emb = torch::cat({freqs, freqs}, -1).unsqueeze(1);
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

torch::Tensor AtRows(const torch::Tensor& x, const torch::Tensor& rows, int64_t dim) {
  if (!rows.defined()) return x;
  TORCH_CHECK(rows.dim() == 2 && rows.size(0) == x.size(0) && dim >= 1 && dim < x.dim(), "rows must be [batch, r]");
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end()), index(x.dim(), 1);
  shape[dim] = index[dim] = rows.size(1);
  index[0] = rows.size(0);
  return x.gather(dim, rows.reshape(index).expand(shape));
}

RotaryTables RotaryAtRows(const RotaryTables& rot, const torch::Tensor& rows) {
  if (!rows.defined() || !rot.cos.defined()) return rot;
  return {AtRows(rot.cos, rows, 2), AtRows(rot.sin, rows, 2)};
}

namespace {

torch::Tensor RotateHalf(const torch::Tensor& x) {
  int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

}  // namespace

torch::Tensor ApplyRotary(const torch::Tensor& x, const RotaryTables& rot) {
  int64_t rd = rot.cos.size(-1);
  TORCH_CHECK(rd <= x.size(-1) && rot.cos.size(-2) == x.size(-2), "rotary tables do not fit the input");
  if (rd == x.size(-1)) return x * rot.cos + RotateHalf(x) * rot.sin;
  torch::Tensor x_rot = x.narrow(-1, 0, rd), x_pass = x.narrow(-1, rd, x.size(-1) - rd);
  return torch::cat({x_rot * rot.cos + RotateHalf(x_rot) * rot.sin, x_pass}, -1);
}

namespace {

// Llama's repeat_kv: kv head i serves query heads i * n_rep .. (i + 1) * n_rep - 1.
torch::Tensor RepeatKv(const torch::Tensor& x, int64_t n_rep) {
  if (n_rep == 1) return x;
  int64_t b = x.size(0), kv = x.size(1), t = x.size(2), d = x.size(3);
  return x.unsqueeze(2).expand({b, kv, n_rep, t, d}).reshape({b, kv * n_rep, t, d});
}

}  // namespace

torch::Tensor AdditiveMask(const torch::Tensor& allowed, torch::ScalarType dtype) {
  TORCH_CHECK(allowed.dim() == 3 && allowed.size(1) == allowed.size(2) && allowed.scalar_type() == torch::kBool,
              "attention mask must be [batch, time, time] bool");
  return torch::zeros(allowed.sizes(), allowed.options().dtype(dtype))
      .masked_fill(allowed.logical_not(), -std::numeric_limits<double>::infinity())
      .unsqueeze(1);
}

torch::Tensor CausalAttention(const torch::Tensor& q, const torch::Tensor& k_in, const torch::Tensor& v_in,
                              const torch::Tensor& mask_in) {
  TORCH_CHECK(q.size(1) % k_in.size(1) == 0, "query heads must be a multiple of key/value heads");
  int64_t n_rep = q.size(1) / k_in.size(1);
  torch::Tensor k = RepeatKv(k_in, n_rep), v = RepeatKv(v_in, n_rep);
#if TORCH_VERSION_MAJOR >= 2
  // Same math as below (default scale 1/sqrt(head_dim), causal or given additive mask), in fused kernels.
  if (mask_in.defined())
    return at::scaled_dot_product_attention(q, k, v, mask_in, /*dropout_p=*/0.0, /*is_causal=*/false);
  return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0, /*is_causal=*/true);
#else
  const int64_t b = q.size(0), h = q.size(1), tq = q.size(2), t = k.size(2), d = q.size(3);
  TORCH_CHECK(mask_in.defined() || tq == t, "causal attention without a mask needs as many queries as keys");
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  // One batched GEMM computes scale x q k^T + mask, the mask being -inf above the diagonal (or
  // the given one, per sequence and shared by the heads): the scaling and masking ride in the
  // GEMM's epilogue instead of two more passes over the scores.
  torch::Tensor mask = mask_in.defined()
                           ? mask_in.expand({b, h, tq, t}).reshape({b * h, tq, t})
                           : torch::full({t, t}, -std::numeric_limits<double>::infinity(), q.options()).triu(1);
  torch::Tensor scores = torch::baddbmm(mask, q.reshape({b * h, tq, d}), k.reshape({b * h, t, d}).transpose(1, 2),
                                        /*beta=*/1.0, /*alpha=*/scale);
  torch::Tensor probs = torch::softmax(scores, -1, AtLeastFloat32(scores.scalar_type())).to(v.scalar_type());
  return torch::bmm(probs, v.reshape({b * h, t, d})).view({b, h, tq, d});
#endif
}

}  // namespace saturn
