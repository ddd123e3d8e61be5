// The unit of in-context-learning evaluation, between the task side (tasks, prompts, metrics:
// torch-free) and the scoring side (the model): one (context, continuation) pair of token ids.
// Its score is the summed log-probability of the continuation's tokens given everything before
// them, and whether every one of them is the model's argmax (greedy).
#pragma once

#include <cstdint>
#include <vector>

namespace saturn {

struct Request {
  int item = 0;    // index of the item in its task
  int choice = 0;  // which choice (mc) or context option (schema); 0 for lm
  // As lm-evaluation-harness encodes them: context + continuation encoded together and split at
  // the context's token length; an empty context is the end-of-text token alone. Not truncated:
  // the scorer keeps the last max_positions + 1 tokens of context + continuation (left
  // truncation), and the continuation must be non-empty and at most max_positions long.
  std::vector<int32_t> context;
  std::vector<int32_t> continuation;
};

struct Score {
  double loglikelihood = 0;  // summed over the continuation's tokens, natural log
  bool greedy = false;       // every continuation token is the argmax of its position
};

}  // namespace saturn
