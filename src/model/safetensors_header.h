// The safetensors header, parsed and checked without LibTorch (so that it can be fuzzed alone):
// an 8-byte little-endian length, a JSON object {name: {dtype, shape, data_offsets}, optional
// "__metadata__": {string: string}}, then a data section that the tensors tile exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/status.h"

namespace saturn {

struct SafetensorsEntry {
  std::string name;
  std::string dtype;     // "F32", "BF16", ...: one of SafetensorsDTypes()
  int64_t dtype_size;    // bytes per element
  std::vector<int64_t> shape;
  uint64_t begin, end;   // offsets into the data section
};

struct SafetensorsHeader {
  uint64_t data_offset;  // where the data section starts in the file (8 + header length)
  std::vector<SafetensorsEntry> entries;  // in the header's order
};

// The dtypes Saturn reads and writes, with their element sizes.
struct SafetensorsDType {
  const char* name;
  int64_t size;
};
const std::vector<SafetensorsDType>& SafetensorsDTypes();

// Parses the header of a file whose `size` bytes start at `data`. Any inconsistency (a length
// past the file, invalid JSON, an unknown dtype, offsets that gap, overlap or disagree with the
// shape) is a user error naming `path` and the tensor.
Result<SafetensorsHeader> ParseSafetensorsHeader(const char* data, uint64_t size, const std::string& path);

}  // namespace saturn
