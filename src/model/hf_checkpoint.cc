#include "model/hf_checkpoint.h"

#include <filesystem>
#include <set>

#include "model/safetensors.h"
#include "util/files.h"

namespace saturn {
namespace {

namespace fs = std::filesystem;

std::string ConfigPath(const std::string& dir) { return (fs::path(dir) / "config.json").string(); }

}  // namespace

Status SaveHfModel(const std::string& dir, CausalLM& model, torch::ScalarType dtype, int64_t max_shard_bytes) {
  return SaveHfTensors(dir, model->config(), model->hf_tensors(), dtype, max_shard_bytes);
}

Status SaveHfTensors(const std::string& dir, const ModelConfig& cfg, const NamedTensors& tensors,
                     torch::ScalarType dtype, int64_t max_shard_bytes) {
  std::string torch_dtype = dtype == torch::kFloat32    ? "float32"
                            : dtype == torch::kBFloat16 ? "bfloat16"
                            : dtype == torch::kFloat16  ? "float16"
                                                        : "";
  TORCH_CHECK(!torch_dtype.empty(), "SaveHfTensors: dtype must be float32, bfloat16 or float16");
  // Weights first: a config.json beside missing weights would look like a complete model.
  SATURN_RETURN_IF_ERROR(WriteSafetensorsDir(dir, tensors, dtype, max_shard_bytes));
  return WriteFileAtomic(ConfigPath(dir), ModelConfigToJson(cfg, torch_dtype));
}

Result<CausalLM> LoadHfModel(const std::string& dir, ModelOptions opt) {
  auto cfg = LoadModelConfig(ConfigPath(dir));
  if (!cfg.ok()) return cfg.status();
  CausalLM model(*cfg, opt);
  SATURN_RETURN_IF_ERROR(LoadHfWeights(dir, model));
  return model;
}

Status LoadHfWeights(const std::string& dir, CausalLM& model) {
  const std::string config_path = ConfigPath(dir);
  auto cfg = LoadModelConfig(config_path);
  if (!cfg.ok()) return cfg.status();
  std::string diff = ModelConfigDifference(model->config(), *cfg);
  if (!diff.empty())
    return Status::UserError(config_path + ": describes another model than " + model->config().source + " (" + diff +
                             "); load a checkpoint saved from the same config");
  std::map<std::string, std::string> sources;
  auto tensors = ReadSafetensorsDir(dir, &sources);
  if (!tensors.ok()) return tensors.status();
  // Errors name the weights file; for shards, the index that maps each tensor to its shard.
  std::set<std::string> files;
  for (const auto& [name, file] : sources) files.insert(file);
  std::string where = files.size() == 1 ? *files.begin() : (fs::path(dir) / "model.safetensors.index.json").string();
  return model->load_hf_tensors(*tensors, where);
}

}  // namespace saturn
