// The safetensors file format (Hugging Face): an 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then the raw data.
// Sharded checkpoints add model.safetensors.index.json {"metadata", "weight_map": {name: file}}.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "util/status.h"

namespace saturn {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Reads one .safetensors file (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL), checking the
// header, offsets and sizes: a truncated or corrupt file is a user error naming the file and
// the tensor.
Result<std::map<std::string, torch::Tensor>> ReadSafetensors(const std::string& path);
// Reads a checkpoint directory: model.safetensors, or model.safetensors.index.json and its shards.
Result<std::map<std::string, torch::Tensor>> ReadSafetensorsDir(const std::string& dir);
// The same, also telling the file each tensor came from (for errors that name it).
Result<std::map<std::string, torch::Tensor>> ReadSafetensorsDir(const std::string& dir,
                                                                 std::map<std::string, std::string>* sources);

// Writes tensors (floating-point ones converted to `dtype`, a floating type; others keep theirs)
// in the given order, with the header padded by spaces to a multiple of 8 as safetensors does. The file
// appears whole or not at all (temp file, then rename).
Status WriteSafetensors(const std::string& path, const NamedTensors& tensors, torch::ScalarType dtype,
                        const std::map<std::string, std::string>& metadata = {{"format", "pt"}});
// Writes model.safetensors, or shards of at most max_shard_bytes plus the index when the
// tensors are larger than that (0: never shard).
Status WriteSafetensorsDir(const std::string& dir, const NamedTensors& tensors, torch::ScalarType dtype,
                           int64_t max_shard_bytes = 0);

}  // namespace saturn
