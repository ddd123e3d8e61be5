// TASKS.yaml: the tasks `saturn eval` runs, with the same entries as a sweep's eval.tasks and an
// optional tokenizer. Schema and path rules: docs/eval.md.
#pragma once

#include <string>
#include <vector>

#include "config/sweep.h"
#include "util/status.h"

namespace saturn {

struct TasksFile {
  std::string path;       // the file it was read from
  // As Tokenizer::Load takes it ("gpt2", "gpt2:DIR", "hf:PATH"); "" when the file has none.
  std::string tokenizer;
  std::vector<TaskSpec> tasks;  // at least one; names unique
};

// Reads and validates a TASKS.yaml. Top-level keys: `tasks` (required; a non-empty list of
// eval.tasks entries) and `tokenizer` (optional; a job's tokenizer forms). Relative paths (each
// task's `path`, the tokenizer's `path`) are resolved against the directory holding the file, so
// a TASKS.yaml means the same wherever saturn runs. Errors name file:line:col and the field.
Result<TasksFile> LoadTasksFile(const std::string& path);
Result<TasksFile> ParseTasksFile(const std::string& yaml_text, const std::string& path);

}  // namespace saturn
