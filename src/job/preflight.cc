#include "job/preflight.h"

#include <filesystem>
#include <map>
#include <set>

#include "data/tokenizer.h"
#include "model/config.h"
#include "model/safetensors.h"

namespace saturn {
namespace {

namespace fs = std::filesystem;

// A data path a job reads: it must exist and be a file.
Status CheckReadable(const JobSpec& job, const std::string& field, const std::string& path) {
  const std::string at = job.loc.str() + ": job '" + job.name + "': " + field + " " + path + ": ";
  std::error_code ec;
  if (!fs::exists(path, ec)) return Status::UserError(at + "no such file; fix the path (relative paths start at the current directory)");
  if (fs::is_directory(path, ec)) return Status::UserError(at + "is a directory; give a file");
  return Status::Ok();
}

}  // namespace

Status CheckJobInputs(const Sweep& sweep, const std::vector<const JobSpec*>& jobs) {
  std::map<std::string, Status> tokenizers;  // spec -> how it loaded (shared by most jobs)
  std::set<std::string> weights;              // model directories checked
  for (const JobSpec* j : jobs) {
    const std::string config = ModelConfigPath(j->model);
    std::error_code ec;
    if (!fs::exists(j->model, ec))
      return Status::UserError(j->loc.str() + ": job '" + j->name + "': model " + j->model +
                               ": no such file or directory; give a config.json or a model directory");
    Result<ModelConfig> cfg = LoadModelConfig(config);
    if (!cfg.ok()) return Status::UserError(j->loc.str() + ": job '" + j->name + "': " + cfg.status().message());
    // A model directory's weights: every file there, its header and offsets (mapped, not read).
    if (fs::is_directory(j->model, ec) && weights.insert(j->model).second)
      if (Status st = ReadSafetensorsDir(j->model).status(); !st.ok())
        return Status::UserError(j->loc.str() + ": job '" + j->name + "': " + st.message() +
                                 "; fix or fetch the model's weights again");
    auto t = tokenizers.find(j->tokenizer);
    if (t == tokenizers.end()) t = tokenizers.emplace(j->tokenizer, Tokenizer::Load(j->tokenizer).status()).first;
    if (!t->second.ok()) return Status::UserError(j->loc.str() + ": job '" + j->name + "': " + t->second.message());
    SATURN_RETURN_IF_ERROR(CheckReadable(*j, "data.train", j->data_train));
    if (!j->data_valid.empty()) SATURN_RETURN_IF_ERROR(CheckReadable(*j, "data.valid", j->data_valid));
  }
  for (const TaskSpec& task : sweep.eval.tasks) {
    std::error_code ec;
    if (!fs::is_regular_file(task.path, ec))
      return Status::UserError(task.loc.str() + ": eval task '" + task.name + "': " + task.path +
                               (fs::is_directory(task.path, ec) ? ": is a directory; give the task's file"
                                                                : ": no such file; fix the path or remove the task"));
  }
  return Status::Ok();
}

}  // namespace saturn
