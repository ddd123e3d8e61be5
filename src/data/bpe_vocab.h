// Turns a byte-level vocabulary (entries spelled with GPT-2's byte characters) and merges list,
// as read from GPT-2's or Hugging Face's files, into a ByteLevelBpeSpec.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "data/byte_level_bpe.h"
#include "util/status.h"

namespace saturn {

struct MergeLine {
  std::string left, right;
  std::string where;  // "FILE:LINE" or "FILE: model.merges[i]", for errors
};

// `file` names the vocabulary in errors. Ids must be distinct and >= 0; every byte must have an
// entry; both parts and the result of every merge must be entries.
Status FillVocab(const std::string& file, const std::vector<std::pair<std::string, int64_t>>& vocab,
                 const std::vector<MergeLine>& merges, ByteLevelBpeSpec* spec);

}  // namespace saturn
