#include "model/gpt.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <set>

#include "model/blocks.h"
#include "model/checkpoint.h"
#include "model/layers.h"

namespace saturn {
namespace {

bool EndsWith(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Non-parameter buffers that transformers (or its older versions) saved with the weights: the
// causal mask, its fill value and the rotary inverse frequencies. All are recomputed here.
bool IsBuffer(const std::string& name) {
  for (const char* tail : {".attn.bias", ".attn.masked_bias", ".attention.bias", ".attention.masked_bias", ".inv_freq"})
    if (EndsWith(name, tail)) return true;
  return false;
}

std::string ShapeString(at::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

struct CausalLMImpl::Impl {
  std::string prefix;      // transformers' base_model_prefix: transformer | gpt_neox | model
  std::string head_name;   // the output projection's tensor name (absent from checkpoints when tied)
  torch::nn::Embedding tok{nullptr}, pos{nullptr};  // pos: gpt2 only
  std::vector<std::shared_ptr<Block>> blocks;
  torch::nn::LayerNorm layer_norm{nullptr};  // gpt2, gpt_neox final norm
  RMSNorm rms_norm{nullptr};                 // llama final norm
  torch::nn::Linear head{nullptr};           // undefined when tied to tok

  CausalLMImpl::BlockWrapper wrapper;

  // Block i on x in the training path: checkpointed when asked (and recording), then through
  // the wrapper.
  torch::Tensor block_forward(size_t i, const torch::Tensor& x, const RotaryTables& rot, bool checkpoint) {
    std::shared_ptr<Block> block = blocks[i];
    std::function<torch::Tensor(const torch::Tensor&)> run;
    if (checkpoint) {
      run = [block, rot](const torch::Tensor& in) {
        return Checkpoint([block, rot](const torch::Tensor& v) { return block->forward(v, rot, {}, {}); }, in);
      };
    } else {
      run = [block, rot](const torch::Tensor& in) { return block->forward(in, rot, {}, {}); };
    }
    return wrapper ? wrapper(int64_t(i), run, x) : run(x);
  }

  // The blocks and the final norm on embedded inputs x, for evaluation: mask as CausalAttention
  // takes it; rows as hidden_states takes them (the last block keeps only those rows, and so does
  // its mask). Never checkpointed or wrapped.
  torch::Tensor trunk(torch::Tensor x, const RotaryTables& rot, const torch::Tensor& mask, const torch::Tensor& rows) {
    for (size_t i = 0; i < blocks.size(); ++i) {
      const auto& block = blocks[i];
      if (rows.defined() && i + 1 == blocks.size()) {
        TORCH_CHECK(mask.defined(), "rows need an explicit mask");
        x = block->forward(x, rot, AtRows(mask, rows, 2), rows);
      } else {
        x = block->forward(x, rot, mask, {});
      }
    }
    return final_norm(x);
  }

  torch::Tensor final_norm(const torch::Tensor& x) { return rms_norm ? rms_norm(x) : layer_norm(x); }
};

CausalLMImpl::CausalLMImpl(ModelConfig cfg, ModelOptions opt)
    : cfg_(std::move(cfg)), opt_(opt), impl_(std::make_shared<Impl>()) {
  if (cfg_.kv_heads == 0) cfg_.kv_heads = cfg_.heads;
  const ModelConfig& c = cfg_;
  TORCH_CHECK(c.vocab_size > 0 && c.hidden > 0 && c.layers > 0 && c.heads > 0 && c.kv_heads > 0 &&
                  c.hidden % c.heads == 0 && c.heads % c.kv_heads == 0 && c.intermediate > 0 && c.max_positions > 0,
              "invalid model config (configs are validated when parsed)");
  Impl& m = *impl_;
  const bool gpt2 = c.model_type == "gpt2", neox = c.model_type == "gpt_neox";
  TORCH_CHECK(gpt2 || neox || c.model_type == "llama", "unknown model_type ", c.model_type);
  m.prefix = gpt2 ? "transformer" : neox ? "gpt_neox" : "model";
  m.head_name = neox ? "embed_out" : "lm_head";
  // Registration order is transformers' order, so hf_tensors() lists tensors as it does.
  auto base = register_module(m.prefix, std::make_shared<torch::nn::Module>());
  m.tok = base->register_module(gpt2 ? "wte" : neox ? "embed_in" : "embed_tokens",
                                torch::nn::Embedding(c.vocab_size, c.hidden));
  if (gpt2) m.pos = base->register_module("wpe", torch::nn::Embedding(c.max_positions, c.hidden));
  auto list = base->register_module(gpt2 ? "h" : "layers", torch::nn::ModuleList());
  for (int i = 0; i < c.layers; ++i) {
    m.blocks.push_back(MakeBlock(c));
    list->push_back(m.blocks.back());
  }
  if (c.model_type == "llama") {
    m.rms_norm = base->register_module("norm", RMSNorm(c.hidden, c.norm_eps));
  } else {
    m.layer_norm = base->register_module(
        gpt2 ? "ln_f" : "final_layer_norm",
        torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden}).eps(c.norm_eps)));
  }
  if (!c.tie_word_embeddings)
    m.head = register_module(m.head_name, torch::nn::Linear(torch::nn::LinearOptions(c.hidden, c.vocab_size).bias(false)));
}

torch::Tensor CausalLMImpl::forward(const torch::Tensor& ids) {
  return head_logits(final_norm(run_blocks(embed(ids), 0, num_blocks())));
}

torch::Tensor CausalLMImpl::embed(const torch::Tensor& ids) {
  Impl& m = *impl_;
  TORCH_CHECK(ids.dim() == 2 && ids.scalar_type() == torch::kInt64, "ids must be [batch, time] int64");
  const int64_t time = ids.size(1);
  TORCH_CHECK(time >= 1 && time <= cfg_.max_positions, "sequence length ", time, " outside 1..", cfg_.max_positions);
  torch::Tensor x = m.tok(ids);
  if (m.pos) x = x + m.pos(torch::arange(time, ids.options()));
  return x;
}

torch::Tensor CausalLMImpl::run_blocks(torch::Tensor x, int64_t begin, int64_t end) {
  Impl& m = *impl_;
  TORCH_CHECK(x.dim() == 3 && 0 <= begin && begin <= end && end <= num_blocks(), "run_blocks: bad input or range");
  RotaryTables rot = MakeRotaryTables(x.size(1), cfg_.rotary_dims(), cfg_.rope_theta, x.scalar_type(), x.device());
  const bool checkpoint = opt_.activation_checkpointing && torch::GradMode::is_enabled();
  for (int64_t i = begin; i < end; ++i) x = m.block_forward(size_t(i), x, rot, checkpoint);
  return x;
}

torch::Tensor CausalLMImpl::final_norm(const torch::Tensor& x) { return impl_->final_norm(x); }

int64_t CausalLMImpl::num_blocks() const { return int64_t(impl_->blocks.size()); }

std::string CausalLMImpl::block_prefix(int64_t i) const {
  return impl_->prefix + (cfg_.model_type == "gpt2" ? ".h." : ".layers.") + std::to_string(i) + ".";
}

std::vector<std::string> CausalLMImpl::embedding_names() const {
  const std::string& p = impl_->prefix;
  if (cfg_.model_type == "gpt2") return {p + ".wte.weight", p + ".wpe.weight"};
  return {p + (cfg_.model_type == "gpt_neox" ? ".embed_in.weight" : ".embed_tokens.weight")};
}

std::vector<std::string> CausalLMImpl::final_names() const {
  std::vector<std::string> out;
  for (const auto& item : named_parameters()) {
    const std::string& n = item.key();
    if (n.rfind(impl_->prefix + ".", 0) != 0) {
      out.push_back(n);  // the untied head
      continue;
    }
    const std::string rest = n.substr(impl_->prefix.size() + 1);
    if (rest.rfind("ln_f.", 0) == 0 || rest.rfind("final_layer_norm.", 0) == 0 || rest.rfind("norm.", 0) == 0)
      out.push_back(n);
  }
  return out;
}

void CausalLMImpl::set_block_wrapper(BlockWrapper wrapper) { impl_->wrapper = std::move(wrapper); }

torch::Tensor CausalLMImpl::LossFromLogits(const torch::Tensor& logits, const torch::Tensor& targets) {
  torch::Tensor flat = logits.reshape({-1, logits.size(-1)}).to(AtLeastFloat32(logits.scalar_type()));
  return torch::nn::functional::cross_entropy(flat, targets.reshape({-1}));
}

torch::Tensor CausalLMImpl::hidden_states(const torch::Tensor& ids, const torch::Tensor& positions,
                                          const torch::Tensor& mask, const torch::Tensor& rows) {
  Impl& m = *impl_;
  TORCH_CHECK(ids.dim() == 2 && ids.scalar_type() == torch::kInt64, "ids must be [batch, time] int64");
  TORCH_CHECK(positions.sizes() == ids.sizes() && positions.scalar_type() == torch::kInt64,
              "positions must be int64 and shaped as ids");
  const int64_t batch = ids.size(0), time = ids.size(1);
  TORCH_CHECK(time >= 1 && time <= cfg_.max_positions, "sequence length ", time, " outside 1..", cfg_.max_positions);
  TORCH_CHECK(mask.dim() == 3 && mask.size(0) == batch && mask.size(1) == time && mask.size(2) == time,
              "mask must be [batch, time, time]");
  const auto [lo, hi] = torch::aminmax(positions);
  TORCH_CHECK(lo.item<int64_t>() >= 0 && hi.item<int64_t>() < cfg_.max_positions, "positions outside 0..",
              cfg_.max_positions - 1);
  torch::Tensor x = m.tok(ids);
  if (m.pos) x = x + m.pos(positions);
  if (rows.defined()) {
    TORCH_CHECK(rows.dim() == 2 && rows.size(0) == batch && rows.size(1) >= 1 && rows.scalar_type() == torch::kInt64,
                "rows must be [batch, r] int64 with r >= 1");
    const auto [rlo, rhi] = torch::aminmax(rows);
    TORCH_CHECK(rlo.item<int64_t>() >= 0 && rhi.item<int64_t>() < time, "rows outside 0..", time - 1);
  }
  RotaryTables rot = MakeRotaryTables(positions, cfg_.rotary_dims(), cfg_.rope_theta, x.scalar_type());
  return m.trunk(x, rot, AdditiveMask(mask, x.scalar_type()), rows);
}

torch::Tensor CausalLMImpl::head_logits(const torch::Tensor& hidden) {
  Impl& m = *impl_;
  return m.head ? m.head(hidden) : torch::linear(hidden, m.tok->weight);
}

torch::Tensor CausalLMImpl::loss(const torch::Tensor& ids, const torch::Tensor& targets) {
  return LossFromLogits(forward(ids), targets);
}

void CausalLMImpl::init_weights(uint64_t seed) {
  torch::NoGradGuard no_grad;
  // A private CPU generator: the weights depend on the seed only, not on the global RNG or the device.
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const double residual_std = 0.02 / std::sqrt(2.0 * cfg_.layers);
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor& p = item.value();
    torch::Tensor v;
    if (p.dim() == 1) {
      // Biases are zero; the only 1-D weights are norm scales, which start at one.
      v = EndsWith(name, ".bias") ? torch::zeros(p.sizes()) : torch::ones(p.sizes());
    } else {
      // GPT-2 scales its residual projections (attn.c_proj and mlp.c_proj) by 1/sqrt(2 * layers).
      double std = cfg_.model_type == "gpt2" && EndsWith(name, "c_proj.weight") ? residual_std : 0.02;
      v = torch::empty(p.sizes(), torch::kFloat32).normal_(0.0, std, gen);
    }
    p.copy_(v);
  }
}

std::vector<std::pair<std::string, torch::Tensor>> CausalLMImpl::hf_tensors() const {
  // Submodules carry transformers' names and layouts, so this is named_parameters() itself.
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

Status CausalLMImpl::load_hf_tensors(const std::map<std::string, torch::Tensor>& tensors, const std::string& where) {
  const Impl& m = *impl_;
  auto params = named_parameters();
  std::map<std::string, torch::Tensor> matched;  // parameter name -> tensor to copy in
  for (const auto& [name, t] : tensors) {
    // Checkpoints of the bare base model (e.g. the original gpt2 files) lack the prefix.
    std::string key = name;
    if (!params.contains(key) && params.contains(m.prefix + "." + name)) key = m.prefix + "." + name;
    if (!params.contains(key)) {
      if (IsBuffer(name)) continue;
      if (cfg_.tie_word_embeddings && name == m.head_name + ".weight") continue;  // a tied copy of the embeddings
      return Status::UserError(where + ": tensor '" + name + "' is not a parameter of this " + cfg_.model_type +
                               " model (config " + cfg_.source + "); the checkpoint does not match the config");
    }
    if (matched.count(key))
      return Status::UserError(where + ": tensor '" + name + "' appears twice (with and without the '" + m.prefix +
                               ".' prefix); remove one");
    const torch::Tensor& p = params[key];
    if (t.sizes() != p.sizes())
      return Status::UserError(where + ": tensor '" + name + "' has shape " + ShapeString(t.sizes()) + ", but config " +
                               cfg_.source + " needs " + ShapeString(p.sizes()) +
                               "; the checkpoint does not match the config");
    if (!t.is_floating_point())
      return Status::UserError(where + ": tensor '" + name + "' has dtype " + std::string(c10::toString(t.scalar_type())) +
                               "; weights must be floating point");
    matched[key] = t;
  }
  for (const auto& item : params)
    if (!matched.count(item.key()))
      return Status::UserError(where + ": tensor '" + item.key() + "' is missing; the checkpoint does not match config " +
                               cfg_.source);
  torch::NoGradGuard no_grad;
  for (const auto& [key, t] : matched) params[key].copy_(t);
  return Status::Ok();
}

}  // namespace saturn
