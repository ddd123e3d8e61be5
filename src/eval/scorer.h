// Scoring of in-context-learning requests (request.h) with a causal LM: each request's summed
// continuation log-probability and greedy flag. Every function returns one Score per request, in
// the order of reqs, and means the same thing: the plain loop's definition (ScorePlain), with
// lm-evaluation-harness's left truncation to the model's length. Requests must satisfy request.h's
// contract (non-empty context and continuation, continuation at most max_positions tokens), else
// c10::Error. The model must already be on `device`; it runs in eval mode without autograd and is
// put back in its previous mode afterwards. Log-softmax runs in float32 (float64 for a float64
// model), only at continuation positions; only the per-token results come back to the host.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/request.h"
#include "model/gpt.h"

namespace saturn {

struct ScoreOptions {
  // Tokens per forward pass, padding included: a batch holds as many sequences of its longest
  // length as fit (at least one).
  int64_t batch_tokens = 8192;
  // Run a context shared by several requests (same item, same token ids) once, packing the
  // choices' continuations after it in one sequence (see packing.h).
  bool share_prefixes = true;
  std::string device = "cpu";
};

// The fast path: sequences sorted by length, padded to the longest in their batch, contexts shared.
std::vector<Score> ScoreRequests(CausalLM& model, const std::vector<Request>& reqs, const ScoreOptions& opt);

// The part of ScoreRequests' work that shard `shard` of `shards` does: the batches whose index
// modulo shards is shard. Batches are planned over all of reqs first, so a request's score is
// the same whichever number of shards runs it, bit for bit. Appends the indices of the requests
// it scored to *scored (each once); the other requests' scores are meaningless.
std::vector<Score> ScoreShard(CausalLM& model, const std::vector<Request>& reqs, const ScoreOptions& opt, int shard,
                              int shards, std::vector<int>* scored);

// The reference and baseline (a): one request at a time, unbatched, full forward(ids) logits.
// With head = kContinuationRows, the head runs on the continuation's positions alone (log-softmax
// is row-wise, so the values are the forward pass's): the reference for whole data sets, where
// a GPT-2 vocabulary's head at every position of ~100k requests would take most of an hour.
enum class PlainHead { kAllRows, kContinuationRows };
std::vector<Score> ScorePlain(CausalLM& model, const std::vector<Request>& reqs, const std::string& device,
                              PlainHead head = PlainHead::kAllRows);

// Baseline (b), MosaicML's way: batch_size requests at a time in the given order, each padded to
// max_positions, full forward(ids) logits, scored at the continuation positions.
std::vector<Score> ScorePaddedToMax(CausalLM& model, const std::vector<Request>& reqs, int batch_size,
                                    const std::string& device);

}  // namespace saturn
