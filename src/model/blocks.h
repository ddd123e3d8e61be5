// One transformer layer of each architecture, with transformers' submodule names so that the
// model's named_parameters() are the Hugging Face tensor names:
//   gpt2      ln_1, attn.{c_attn,c_proj}, ln_2, mlp.{c_fc,c_proj}            (pre-norm, sequential)
//   gpt_neox  input_layernorm, post_attention_layernorm, attention.{query_key_value,dense},
//             mlp.{dense_h_to_4h,dense_4h_to_h}                            (parallel or sequential)
//   llama     self_attn.{q,k,v,o}_proj, mlp.{gate,up,down}_proj, input_layernorm,
//             post_attention_layernorm                                     (RMSNorm, SwiGLU, GQA)
#pragma once

#include <memory>

#include <torch/torch.h>

#include "model/config.h"
#include "model/layers.h"

namespace saturn {

class Block : public torch::nn::Module {
 public:
  // x: [batch, time, hidden] -> [batch, time, hidden]. `rot` holds the rotary tables of the
  // positions (undefined for gpt2); `mask` is CausalAttention's (undefined: causal). Deterministic:
  // the same inputs give bitwise the same output, which activation checkpointing relies on.
  //
  // rows, when defined: [batch, r] int64 indices into time, the only positions whose output is
  // wanted (evaluation's last block, where only scored positions reach the head). Keys and values
  // still come from every position; queries, the output projection and the MLP run on those rows
  // only. mask is then [batch, 1, r, time] (the full mask's rows), rot position-based (tables
  // [batch, 1, time, dims]), and the result [batch, r, hidden] equals the full result gathered at
  // rows, up to float rounding.
  virtual torch::Tensor forward(const torch::Tensor& x, const RotaryTables& rot, const torch::Tensor& mask,
                                const torch::Tensor& rows) = 0;
};

// The block of cfg.model_type (one of gpt2, gpt_neox, llama; the config was validated on load).
std::shared_ptr<Block> MakeBlock(const ModelConfig& cfg);

}  // namespace saturn
