// A decoder-only transformer's shape, read from a Hugging Face config.json.
// model_type gpt2 (learned positions, LayerNorm, GELU, Conv1D weights), gpt_neox (rotary on a
// fraction of each head, parallel residual, untied head; Pythia) and llama (RMSNorm, SwiGLU,
// rotary, grouped-query attention).
#pragma once

#include <cstdint>
#include <string>

#include "util/status.h"

namespace saturn {

struct ModelConfig {
  std::string model_type;  // gpt2 | gpt_neox | llama
  int vocab_size = 0;
  int max_positions = 0;  // n_positions / max_position_embeddings
  int hidden = 0;         // n_embd / hidden_size
  int layers = 0;         // n_layer / num_hidden_layers
  int heads = 0;          // n_head / num_attention_heads
  int kv_heads = 0;       // num_key_value_heads (llama); = heads otherwise (0 in a hand-made config: = heads)
  int intermediate = 0;   // MLP width: n_inner or 4 x hidden (gpt2), intermediate_size
  double norm_eps = 1e-5;
  double rotary_pct = 1.0;     // gpt_neox: fraction of head_dim that is rotated
  double rope_theta = 10000;   // rotary_emb_base / rope_theta
  bool parallel_residual = true;  // gpt_neox: use_parallel_residual
  bool tie_word_embeddings = true;
  bool attention_bias = false;  // llama
  bool mlp_bias = false;        // llama
  std::string activation = "gelu_new";  // gpt2 activation_function / hidden_act
  std::string source;  // the file it was read from, for errors

  int head_dim() const { return hidden / heads; }
  // Rotated dims of each head: int(head_dim * rotary_pct) for gpt_neox, head_dim for llama, 0 for gpt2.
  int rotary_dims() const;
  int64_t parameter_count() const;  // exact, as the built model has
  int64_t block_parameter_count() const;  // one transformer block's; the rest is embeddings, norm, head
};

// A job's `model:` is a config.json or a directory holding one (and weights): the config's path.
std::string ModelConfigPath(const std::string& model);

// Parses a config.json. Unknown model_type, missing or inconsistent sizes (hidden not divisible
// by heads, heads not divisible by kv_heads) are user errors naming the file and the key.
Result<ModelConfig> LoadModelConfig(const std::string& path);
Result<ModelConfig> ParseModelConfig(const std::string& json_text, const std::string& path_for_errors);
std::string ModelConfigToJson(const ModelConfig& c);  // a config.json transformers can read
// The same, with "torch_dtype" set to float32 | bfloat16 | float16.
std::string ModelConfigToJson(const ModelConfig& c, const std::string& torch_dtype);
// "" when a and b build the same network (same tensors, same math); otherwise the first field that
// differs, as "field a_value vs b_value".
std::string ModelConfigDifference(const ModelConfig& a, const ModelConfig& b);

}  // namespace saturn
