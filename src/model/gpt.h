// The decoder-only transformer family of config.h as a LibTorch module, with Hugging Face tensor
// names. Includes <torch/torch.h>: include it only where a model is built or run.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "model/config.h"
#include "util/status.h"

namespace saturn {

struct ModelOptions {
  // Keep only each block's input in the forward pass and recompute the block in backward.
  bool activation_checkpointing = false;
};

class CausalLMImpl : public torch::nn::Module {
 public:
  explicit CausalLMImpl(ModelConfig cfg, ModelOptions opt = {});

  // ids: [batch, time] int64 (1 <= time <= max_positions; else c10::Error) -> logits [batch, time,
  // vocab] in the parameters' dtype.
  torch::Tensor forward(const torch::Tensor& ids);
  // Mean next-token cross entropy of forward(ids) against targets ([batch, time] int64), computed
  // on float32 logits (float64 for a float64 model); targets of -100 are ignored, as torch does.
  torch::Tensor loss(const torch::Tensor& ids, const torch::Tensor& targets);

  // The transformer up to and including the final norm, for sequences that pack several
  // continuations after one shared context (evaluation; never checkpointed). ids, positions:
  // [batch, time] int64, 1 <= time <= max_positions, positions in 0..max_positions-1 (else
  // c10::Error); mask: [batch, time, time] bool, mask[b][i][j] = query i may attend to key j. Each
  // query must attend to at least one key (give padding its own diagonal), else its row is NaN.
  // With positions 0..time-1 and the lower-triangular mask this is forward(ids) before the head.
  // Returns [batch, time, hidden] in the parameters' dtype.
  //
  // rows, when given: [batch, r] int64 in 0..time-1, the positions whose states are wanted (those
  // that reach the head); the result is then [batch, r, hidden], the full result at those rows up
  // to float rounding. The last block runs its queries, output projection and MLP on these rows
  // only: where few positions are scored (LAMBADA: 1-3 of ~80) that is most of a block's work.
  torch::Tensor hidden_states(const torch::Tensor& ids, const torch::Tensor& positions, const torch::Tensor& mask,
                              const torch::Tensor& rows = {});
  // The output head: [..., hidden] -> [..., vocab] logits, as forward applies it.
  torch::Tensor head_logits(const torch::Tensor& hidden);

  // Hugging Face's initialization, seeded: normal(0, 0.02) weights, zero biases, unit norms,
  // GPT-2's scaled init of residual projections. Same seed, same weights, on any device.
  void init_weights(uint64_t seed);

  // Every tensor under its Hugging Face name and in Hugging Face's layout (GPT-2's Conv1D
  // weights transposed to [in, out]); tied weights appear once, as transformers saves them.
  // These are the parameters themselves (named_parameters() already carries these names), in
  // transformers' order.
  std::vector<std::pair<std::string, torch::Tensor>> hf_tensors() const;
  // The inverse: copies each named tensor in (converting dtype). Missing, unexpected or
  // wrongly shaped tensors are user errors that name `where` (the file) and the tensor; nothing
  // is copied then. Accepted and skipped: names without the base prefix (checkpoints of the bare
  // GPT2Model etc.), old non-parameter buffers (attn.bias, masked_bias, inv_freq) and, for tied
  // models, the output head's copy of the embeddings.
  Status load_hf_tensors(const std::map<std::string, torch::Tensor>& tensors, const std::string& where);

  // The pieces forward() is made of, for techniques that split the model (a pipeline stage runs
  // some of them; FSDP gathers a block's parameters around it):
  //   forward(ids) = head_logits(final_norm(run_blocks(embed(ids), 0, num_blocks())))
  int64_t num_blocks() const;
  // Token (and, for gpt2, position) embeddings of ids [batch, time] int64 -> [batch, time, hidden].
  torch::Tensor embed(const torch::Tensor& ids);
  // Blocks [begin, end) on x [batch, time, hidden], causal, checkpointed when the options say so
  // and grad mode is on, each through the block wrapper when one is set.
  torch::Tensor run_blocks(torch::Tensor x, int64_t begin, int64_t end);
  torch::Tensor final_norm(const torch::Tensor& x);
  // Mean next-token cross entropy of logits [..., vocab] against targets [...] (as loss()).
  static torch::Tensor LossFromLogits(const torch::Tensor& logits, const torch::Tensor& targets);

  // Where parameters live, by Hugging Face name: block i's start with block_prefix(i); the
  // embeddings (token, position) and the final norm and untied head are listed by name. A tied
  // head reads the token embedding's weight (embedding_names()[0]).
  std::string block_prefix(int64_t i) const;
  std::vector<std::string> embedding_names() const;
  std::vector<std::string> final_names() const;
  bool tied() const { return cfg_.tie_word_embeddings; }

  // A wrapper around every block's forward in the training path (forward, loss, run_blocks):
  // wrapper(i, run, x) must return run(x), doing what it needs around the call (FSDP gathers the
  // block's parameters before and frees them after). Empty: call run directly.
  using BlockWrapper = std::function<torch::Tensor(int64_t block, const std::function<torch::Tensor(const torch::Tensor&)>& run,
                                                   const torch::Tensor& x)>;
  void set_block_wrapper(BlockWrapper wrapper);

  const ModelConfig& config() const { return cfg_; }
  ModelOptions& options() { return opt_; }

 private:
  struct Impl;
  ModelConfig cfg_;
  ModelOptions opt_;
  std::shared_ptr<Impl> impl_;
};
TORCH_MODULE(CausalLM);

}  // namespace saturn
