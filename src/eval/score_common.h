// What the scorers (scorer.cc, score_baselines.cc) share: request checks, the model's evaluation
// mode, the truncated input of a request, and per-token scores from logits rows.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <c10/core/InferenceMode.h>
#include <torch/torch.h>

#include "eval/request.h"
#include "model/gpt.h"

namespace saturn {

// c10::Error unless every request satisfies request.h's contract for a model of max_positions.
void CheckRequests(const std::vector<Request>& reqs, int max_positions);

// For its lifetime: no autograd (inference mode), the model in eval mode (restored afterwards), and
// `device` checked to be the model's.
class EvalScope {
 public:
  EvalScope(CausalLM& model, const std::string& device);
  ~EvalScope();
  const torch::Device& device() const { return device_; }

 private:
  CausalLM model_;
  bool was_training_;
  torch::Device device_;
  c10::InferenceMode inference_;
};

// The model's input for r: (context + continuation)[-(max_positions + 1):][:-1], whose last
// len(continuation) positions predict the continuation.
std::vector<int64_t> TruncatedInput(const Request& r, int max_positions);

// Per-token results for a batch of target rows, copied to the host.
struct TokenScores {
  std::vector<double> logprob;  // log_softmax(logits)[target]
  std::vector<bool> greedy;     // target == argmax(logits)
};
// logits: [rows, vocab] (any float dtype; upcast to at least float32); targets: [rows] int64 on
// the same device. `head`, when given, first maps hidden rows to logits: it is applied a chunk of
// rows at a time so that at most ~chunk x vocab logits exist at once.
TokenScores ScoreRows(const torch::Tensor& rows, const torch::Tensor& targets,
                      const std::function<torch::Tensor(const torch::Tensor&)>& head = nullptr);

}  // namespace saturn
