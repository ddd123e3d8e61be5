// TASKS.yaml: the top level is read here; task entries and the tokenizer go through the sweep's
// readers (config/sweep.cc), which check them against the field table's eval.tasks[] and
// jobs[].tokenizer rows.
#include "config/tasks_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "config/fields.h"
#include "util/files.h"
#include "util/suggest.h"

namespace saturn {
namespace {

const std::vector<std::string> kTopKeys = {"tokenizer", "tasks"};

SourceLoc LocOf(const std::string& file, const YAML::Node& node) {
  YAML::Mark m = node.Mark();  // 0-based; -1 when the node was not read from the text
  return SourceLoc{file, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0};
}

Status ErrorAt(const SourceLoc& loc, const std::string& field, const std::string& what) {
  return Status::UserError(loc.str() + ": " + field + ": " + what);
}

std::string Keys() {
  std::string out;
  for (const auto& k : kTopKeys) out += (out.empty() ? "" : ", ") + k;
  return out;
}

// `p` relative to `dir` unless absolute (or empty, or dir empty).
std::string Resolve(const std::string& dir, const std::string& p) {
  if (p.empty() || dir.empty() || std::filesystem::path(p).is_absolute()) return p;
  return (std::filesystem::path(dir) / p).lexically_normal().string();
}

Result<TasksFile> Parse(const YAML::Node& root, const std::string& file) {
  if (root.IsNull()) {
    return ErrorAt(SourceLoc{file, 1, 1}, "(top level)",
                   "the file is empty; expected a map of: " + Keys());
  }
  if (!root.IsMap()) {
    return ErrorAt(LocOf(file, root), "(top level)",
                   DescribeValue(root) + "; expected a map of: " + Keys());
  }
  TasksFile out;
  out.path = file;
  std::optional<YAML::Node> tasks, tokenizer;
  for (const auto& kv : root) {  // by value: yaml-cpp's it->first refers into a temporary
    const YAML::Node& k = kv.first;
    std::string key = k.IsScalar() ? k.Scalar() : "";
    if (std::find(kTopKeys.begin(), kTopKeys.end(), key) == kTopKeys.end()) {
      return ErrorAt(LocOf(file, k), key.empty() ? "(top level)" : key,
                     "unknown field; expected one of: " + Keys() + DidYouMean(key, kTopKeys));
    }
    std::optional<YAML::Node>& slot = key == "tasks" ? tasks : tokenizer;
    if (slot) {
      return ErrorAt(LocOf(file, k), key, "repeated field (first value at " +
                                              LocOf(file, *slot).str() + "); expected each once");
    }
    slot.emplace(kv.second);
  }
  if (!tasks) {
    return ErrorAt(LocOf(file, root), "tasks",
                   "missing required field; expected a list of task maps (name, kind, path, ...)");
  }
  SATURN_RETURN_IF_ERROR(ReadTaskList(*tasks, file, "tasks", &out.tasks));
  if (tokenizer) {
    SATURN_RETURN_IF_ERROR(ReadTokenizerValue(*tokenizer, file, "tokenizer", &out.tokenizer));
  }

  const std::string dir = std::filesystem::path(file).parent_path().string();
  for (auto& t : out.tasks) t.path = Resolve(dir, t.path);
  size_t colon = out.tokenizer.find(':');
  if (colon != std::string::npos) {
    out.tokenizer =
        out.tokenizer.substr(0, colon + 1) + Resolve(dir, out.tokenizer.substr(colon + 1));
  }
  return out;
}

}  // namespace

Result<TasksFile> ParseTasksFile(const std::string& yaml_text, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    SourceLoc loc{path, e.mark.line + 1, e.mark.column + 1};
    return ErrorAt(loc, "YAML syntax", e.msg + "; expected well-formed YAML");
  }
  try {
    return Parse(root, path);
  } catch (const YAML::Exception& e) {
    // The readers check each node's kind before reading it, so this is a bug, not a user error.
    return Status::Internal(path + ": reading the tasks file failed: " + e.what());
  }
}

Result<TasksFile> LoadTasksFile(const std::string& path) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseTasksFile(*text, path);
}

}  // namespace saturn
