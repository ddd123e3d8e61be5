#include "model/blocks.h"

namespace saturn {
namespace {

using torch::nn::LayerNorm;
using torch::nn::LayerNormOptions;
using torch::nn::Linear;
using torch::nn::LinearOptions;

// [batch, time, heads * dim] -> [batch, heads, time, dim]
torch::Tensor SplitHeads(const torch::Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
}

// [batch, heads, time, dim] -> [batch, time, heads * dim]
torch::Tensor MergeHeads(const torch::Tensor& x) {
  return x.transpose(1, 2).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

// A submodule that only groups others under a name (transformers' "attn", "mlp", ...).
std::shared_ptr<torch::nn::Module> Group(torch::nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

class Gpt2Block : public Block {
 public:
  explicit Gpt2Block(const ModelConfig& c) : heads_(c.heads), act_(c.activation) {
    ln_1_ = register_module("ln_1", LayerNorm(LayerNormOptions({c.hidden}).eps(c.norm_eps)));
    auto attn = Group(*this, "attn");
    c_attn_ = attn->register_module("c_attn", Conv1D(c.hidden, 3 * c.hidden));
    attn_proj_ = attn->register_module("c_proj", Conv1D(c.hidden, c.hidden));
    ln_2_ = register_module("ln_2", LayerNorm(LayerNormOptions({c.hidden}).eps(c.norm_eps)));
    auto mlp = Group(*this, "mlp");
    c_fc_ = mlp->register_module("c_fc", Conv1D(c.hidden, c.intermediate));
    mlp_proj_ = mlp->register_module("c_proj", Conv1D(c.intermediate, c.hidden));
  }

  torch::Tensor forward(const torch::Tensor& x, const RotaryTables&, const torch::Tensor& mask,
                        const torch::Tensor& rows) override {
    // q, k, v are consecutive hidden-wide slices of c_attn's output.
    auto qkv = c_attn_(ln_1_(x)).split(x.size(-1), -1);
    torch::Tensor a = CausalAttention(SplitHeads(AtRows(qkv[0], rows), heads_), SplitHeads(qkv[1], heads_),
                                      SplitHeads(qkv[2], heads_), mask);
    torch::Tensor h = AtRows(x, rows) + attn_proj_(MergeHeads(a));
    return h + mlp_proj_(Activate(act_, c_fc_(ln_2_(h))));
  }

 private:
  int64_t heads_;
  std::string act_;
  LayerNorm ln_1_{nullptr}, ln_2_{nullptr};
  Conv1D c_attn_{nullptr}, attn_proj_{nullptr}, c_fc_{nullptr}, mlp_proj_{nullptr};
};

class NeoxBlock : public Block {
 public:
  explicit NeoxBlock(const ModelConfig& c) : heads_(c.heads), parallel_(c.parallel_residual), act_(c.activation) {
    auto norm = LayerNormOptions({c.hidden}).eps(c.norm_eps);
    ln_in_ = register_module("input_layernorm", LayerNorm(norm));
    ln_post_ = register_module("post_attention_layernorm", LayerNorm(norm));
    auto attn = Group(*this, "attention");
    qkv_ = attn->register_module("query_key_value",
                                 Linear(LinearOptions(c.hidden, 3 * c.hidden).bias(c.attention_bias)));
    dense_ = attn->register_module("dense", Linear(LinearOptions(c.hidden, c.hidden).bias(c.attention_bias)));
    auto mlp = Group(*this, "mlp");
    up_ = mlp->register_module("dense_h_to_4h", Linear(c.hidden, c.intermediate));
    down_ = mlp->register_module("dense_4h_to_h", Linear(c.intermediate, c.hidden));
  }

  torch::Tensor forward(const torch::Tensor& x_all, const RotaryTables& rot, const torch::Tensor& mask,
                        const torch::Tensor& rows) override {
    // The fused projection is laid out per head: [heads, (q, k, v), head_dim].
    torch::Tensor qkv = qkv_(ln_in_(x_all));
    int64_t d = x_all.size(-1) / heads_;
    qkv = qkv.view({x_all.size(0), x_all.size(1), heads_, 3 * d}).permute({0, 2, 1, 3});
    torch::Tensor q = ApplyRotary(AtRows(qkv.narrow(-1, 0, d), rows, 2), RotaryAtRows(rot, rows));
    torch::Tensor k = ApplyRotary(qkv.narrow(-1, d, d), rot);
    torch::Tensor attn = dense_(MergeHeads(CausalAttention(q, k, qkv.narrow(-1, 2 * d, d), mask)));
    torch::Tensor x = AtRows(x_all, rows);
    if (parallel_) return down_(Activate(act_, up_(ln_post_(x)))) + attn + x;  // transformers' order
    torch::Tensor h = attn + x;
    return down_(Activate(act_, up_(ln_post_(h)))) + h;
  }

 private:
  int64_t heads_;
  bool parallel_;
  std::string act_;
  LayerNorm ln_in_{nullptr}, ln_post_{nullptr};
  Linear qkv_{nullptr}, dense_{nullptr}, up_{nullptr}, down_{nullptr};
};

class LlamaBlock : public Block {
 public:
  explicit LlamaBlock(const ModelConfig& c) : heads_(c.heads), kv_heads_(c.kv_heads), act_(c.activation) {
    int64_t q = int64_t{c.heads} * c.head_dim(), kv = int64_t{c.kv_heads} * c.head_dim();
    auto attn = Group(*this, "self_attn");
    q_ = attn->register_module("q_proj", Linear(LinearOptions(c.hidden, q).bias(c.attention_bias)));
    k_ = attn->register_module("k_proj", Linear(LinearOptions(c.hidden, kv).bias(c.attention_bias)));
    v_ = attn->register_module("v_proj", Linear(LinearOptions(c.hidden, kv).bias(c.attention_bias)));
    o_ = attn->register_module("o_proj", Linear(LinearOptions(q, c.hidden).bias(c.attention_bias)));
    auto mlp = Group(*this, "mlp");
    gate_ = mlp->register_module("gate_proj", Linear(LinearOptions(c.hidden, c.intermediate).bias(c.mlp_bias)));
    up_ = mlp->register_module("up_proj", Linear(LinearOptions(c.hidden, c.intermediate).bias(c.mlp_bias)));
    down_ = mlp->register_module("down_proj", Linear(LinearOptions(c.intermediate, c.hidden).bias(c.mlp_bias)));
    ln_in_ = register_module("input_layernorm", RMSNorm(c.hidden, c.norm_eps));
    ln_post_ = register_module("post_attention_layernorm", RMSNorm(c.hidden, c.norm_eps));
  }

  torch::Tensor forward(const torch::Tensor& x, const RotaryTables& rot, const torch::Tensor& mask,
                        const torch::Tensor& rows) override {
    torch::Tensor n = ln_in_(x);
    torch::Tensor q = ApplyRotary(SplitHeads(q_(AtRows(n, rows)), heads_), RotaryAtRows(rot, rows));
    torch::Tensor k = ApplyRotary(SplitHeads(k_(n), kv_heads_), rot);
    torch::Tensor h = AtRows(x, rows) + o_(MergeHeads(CausalAttention(q, k, SplitHeads(v_(n), kv_heads_), mask)));
    torch::Tensor m = ln_post_(h);
    return h + down_(Activate(act_, gate_(m)) * up_(m));
  }

 private:
  int64_t heads_, kv_heads_;
  std::string act_;
  Linear q_{nullptr}, k_{nullptr}, v_{nullptr}, o_{nullptr}, gate_{nullptr}, up_{nullptr}, down_{nullptr};
  RMSNorm ln_in_{nullptr}, ln_post_{nullptr};
};

}  // namespace

std::shared_ptr<Block> MakeBlock(const ModelConfig& cfg) {
  if (cfg.model_type == "gpt2") return std::make_shared<Gpt2Block>(cfg);
  if (cfg.model_type == "gpt_neox") return std::make_shared<NeoxBlock>(cfg);
  TORCH_CHECK(cfg.model_type == "llama", "unknown model_type ", cfg.model_type);
  return std::make_shared<LlamaBlock>(cfg);
}

}  // namespace saturn
