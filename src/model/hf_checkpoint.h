// A model directory in the Hugging Face layout: config.json + model.safetensors (or shards and
// model.safetensors.index.json). What transformers writes loads here, and the reverse.
#pragma once

#include <string>

#include "model/gpt.h"
#include "model/safetensors.h"
#include "util/status.h"

namespace saturn {

// Writes config.json and the weights into `dir` (created if needed).
Status SaveHfModel(const std::string& dir, CausalLM& model, torch::ScalarType dtype = torch::kFloat32,
                   int64_t max_shard_bytes = 0);
// The same from named tensors (a whole state gathered from several ranks) and the config.
Status SaveHfTensors(const std::string& dir, const ModelConfig& cfg, const NamedTensors& tensors,
                     torch::ScalarType dtype = torch::kFloat32, int64_t max_shard_bytes = 0);
// Builds the model that dir/config.json describes and loads its weights (in float32).
Result<CausalLM> LoadHfModel(const std::string& dir, ModelOptions opt = {});
// Loads dir's weights into an existing model; the config in dir must match the model's.
Status LoadHfWeights(const std::string& dir, CausalLM& model);

}  // namespace saturn
