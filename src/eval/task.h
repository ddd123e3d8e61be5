// An evaluation task's items, read from its file in one of the layouts docs/eval.md describes:
// composer (MosaicML's JSONL, any kind), lambada, piqa, hellaswag (jsonl) and hellaswag-text.
// Items hold the raw texts, before any prompt is made (eval/prompt.h adds the delimiters and the
// few-shot examples).
#pragma once

#include <string>
#include <vector>

#include "config/sweep.h"
#include "util/status.h"

namespace saturn {

struct EvalItem {
  int line = 0;  // 1-based line of the file where the item starts, for messages
  // lm and mc: one context (the query); schema: the context options.
  std::vector<std::string> contexts;
  // mc: the choices; lm and schema: one continuation.
  std::vector<std::string> continuations;
  int gold = 0;  // mc: index into continuations; schema: into contexts; lm: 0

  // How many requests the item makes: the choices (mc) or the context options (schema); 1 for lm.
  int num_requests() const {
    return static_cast<int>(contexts.size() > 1 ? contexts.size() : continuations.size());
  }
};

struct EvalTask {
  TaskSpec spec;
  std::vector<EvalItem> items;  // in file order; at least one
};

// Reads the task file spec.path in spec.format (a ".bz2" file is decompressed first) and checks
// that the format suits spec.kind (lambada: lm; piqa, hellaswag, hellaswag-text: mc; composer:
// any). A malformed line is a user error "FILE:LINE: FIELD: what; expected ..., fix or remove
// the line"; the whole task fails, since a partial task would give numbers not comparable to
// anyone else's.
Result<EvalTask> LoadTask(const TaskSpec& spec);

// lm-evaluation-harness's hellaswag preprocess(): strip, " [title]" -> ". ", drop "[...]" tags
// (regex \[.*?\], which does not cross a newline), then each "  " -> " " (one pass).
std::string HellaswagPreprocess(const std::string& text);

// The labels file PIQA ships beside its jsonl: "dir/valid.jsonl" (or "dir/valid.jsonl.bz2") ->
// "dir/valid-labels.lst". "" when the path does not end in ".jsonl" or ".jsonl.bz2".
std::string PiqaLabelsPath(const std::string& jsonl_path);

}  // namespace saturn
