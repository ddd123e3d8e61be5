// How the scorer lays requests out for the model (torch-free): requests that share a context are
// packed into one sequence, the context once and then every choice's continuation, and packed
// sequences are batched by length under a token budget.
//
// Left truncation as lm-evaluation-harness does it: whole = context + continuation; the model
// reads inp = whole[-(max_positions + 1):][:-1] and its last len(continuation) positions predict
// the continuation. The tokens before the continuation's inputs are therefore context[s:] with
// s = max(0, len(whole) - 1 - max_positions): the request's prefix. Requests with the same item
// and the same prefix tokens see exactly the same prefix at positions 0..len(prefix)-1, so
// sharing it changes no request's definition, truncated ones included.
#pragma once

#include <cstdint>
#include <vector>

#include "eval/request.h"

namespace saturn {

// One sequence for the model: a prefix (segment 0, causal) followed by segments 1, 2, ..., each
// one request's continuation minus its last token. A token of segment k >= 1 attends to the whole
// prefix and causally to segment k, never to other segments; its position continues the prefix's
// (len(prefix) + offset in the segment), as if the segment followed the prefix alone.
struct Pack {
  std::vector<int32_t> tokens;
  std::vector<int32_t> positions;
  std::vector<int32_t> segments;
  // The logits at tokens[index] predict `token`, a continuation token of request `request`; a
  // request's targets appear in the order of its continuation.
  struct Target {
    int32_t index, token, request;
  };
  std::vector<Target> targets;
};

// Every request's continuation tokens, as targets of exactly one pack. share_prefixes: requests
// with equal (item, prefix) share packs, the prefix appearing once per pack and choices added
// while the pack stays within max_positions tokens; otherwise one pack per request (a plain
// truncated sequence). Requests must satisfy request.h's contract (checked by the scorer).
std::vector<Pack> PackRequests(const std::vector<Request>& reqs, int max_positions, bool share_prefixes);

// Pack indices in batches, longest packs first: a batch pads to its longest pack and holds as many
// packs as fit count x longest <= batch_tokens (at least one).
std::vector<std::vector<int>> BatchPacks(const std::vector<Pack>& packs, int64_t batch_tokens);

}  // namespace saturn
