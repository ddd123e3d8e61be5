// Prompts: the texts a task's items are scored on, before tokenization. Zero-shot, a request's
// context is the item's context followed by continuation_delimiter, and its continuation is the
// raw continuation (an mc choice, the lm target, a schema's shared continuation); few-shot puts
// prompt_string and k solved examples first. Exact rules: docs/eval.md "Prompts".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/task.h"
#include "util/splitmix64.h"

namespace saturn {

struct Prompt {
  int item = 0;
  int choice = 0;  // mc: the choice; schema: the context option; lm: 0
  std::string context;
  std::string continuation;
};

// The indices of the few-shot examples for `item` of a task with `num_items` items: min(k,
// num_items - 1) distinct indices, never `item`, in the order drawn. The generator starts at
// state SplitMix64(seed).Next() XOR item, so an item's examples depend only on (seed, item,
// num_items); each draw is Below(num_items - 1), and a draw d >= item stands for d + 1; a draw
// already taken is drawn again.
std::vector<int> FewshotIndices(int item, int num_items, int k, long long seed);

// prompt_string followed by the item's few-shot examples, each "query + continuation_delimiter +
// answer + example_delimiter", where (query, answer) is lm: (context, continuation); mc: (query,
// gold choice); schema: (gold context option, continuation). "" when zero-shot without a
// prompt_string.
std::string FewshotPreamble(const EvalTask& task, int item);

// Every request's prompt, item by item and choice by choice within an item.
std::vector<Prompt> BuildPrompts(const EvalTask& task);

}  // namespace saturn
