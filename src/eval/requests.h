// From prompts to token ids, as lm-evaluation-harness encodes a (context, continuation) pair, and
// the per-request facts the metrics need besides the scores.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "eval/request.h"
#include "eval/task.h"

namespace saturn {

// lm-evaluation-harness's _encode_pair: the context's trailing white space moves to the front of
// the continuation ("a b " + "c" -> "a b" + " c"); then whole = Encode(context + continuation),
// context ids = Encode(context), continuation ids = whole[len(context ids):]. An empty context
// (after the move) is [eot_id] and the continuation is encoded alone. White space here is ASCII
// (space, \t, \n, \v, \f, \r, \x1c-\x1f: what Python's str.rstrip() removes among ASCII).
// One departure: when the joint encoding leaves no continuation ids (the context's last token
// swallowed the whole continuation, which needs a continuation without leading white space), the
// continuation is encoded alone, since a request needs at least one continuation token.
void EncodePair(const Tokenizer& tok, const std::string& context, const std::string& continuation,
                std::vector<int32_t>* context_ids, std::vector<int32_t>* continuation_ids);

// Unicode code points in UTF-8 text (bytes that are not continuation bytes): Python's len().
int CountChars(const std::string& utf8);

struct TaskRequests {
  std::vector<Request> requests;  // as BuildPrompts orders them: by item, then choice
  // Parallel to `requests`: the length in characters of the answer text scored, as the harness
  // normalizes acc_norm: the raw choice (mc), without the delimiter or moved white space before
  // it; for lm and schema, the raw continuation.
  std::vector<int> answer_chars;
};

TaskRequests BuildRequests(const EvalTask& task, const Tokenizer& tok);

}  // namespace saturn
