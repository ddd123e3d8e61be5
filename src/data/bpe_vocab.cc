#include "data/bpe_vocab.h"

#include <unordered_map>

#include "data/byte_level.h"

namespace saturn {

Status FillVocab(const std::string& file, const std::vector<std::pair<std::string, int64_t>>& vocab,
                 const std::vector<MergeLine>& merges, ByteLevelBpeSpec* spec) {
  constexpr int64_t kMaxId = 1 << 24;
  std::unordered_map<std::string, int32_t> by_entry;
  for (const auto& [entry, id] : vocab) {
    if (id < 0 || id >= kMaxId) {
      return Status::UserError(file + ": token " + entry + " has id " + std::to_string(id) +
                               ", outside [0, 2^24); fix or replace the file");
    }
    if (static_cast<size_t>(id) >= spec->id_bytes.size()) spec->id_bytes.resize(id + 1);
    // Entries outside the byte alphabet (special tokens written as text) decode as their text.
    std::optional<std::string> bytes = VocabEntryToBytes(entry);
    spec->id_bytes[id] = bytes ? *bytes : entry;
    by_entry[entry] = static_cast<int32_t>(id);
    if (bytes && bytes->size() == 1) spec->merges.SetByteId(static_cast<unsigned char>((*bytes)[0]), id);
    if (spec->ignore_merges && bytes) spec->vocab.emplace_back(*bytes, static_cast<int32_t>(id));
  }
  // Bytes that never occur in UTF-8 (C0, C1, F5-FF) may lack a token, as in GPT-NeoX's
  // vocabulary; Encode then writes U+FFFD for them. Any other missing byte is an error.
  for (int b = 0; b < 256; ++b) {
    if (spec->merges.byte_id(static_cast<unsigned char>(b)) >= 0) continue;
    if (b == 0xC0 || b == 0xC1 || b >= 0xF5) {
      spec->unknown_bytes[b] = true;
      continue;
    }
    return Status::UserError(file + ": the vocabulary has no token for byte " + std::to_string(b) +
                             ", so it is not a byte-level BPE vocabulary; use GPT-2's or a Hugging Face ByteLevel "
                             "BPE tokenizer");
  }
  for (const MergeLine& m : merges) {
    auto l = by_entry.find(m.left), r = by_entry.find(m.right), lr = by_entry.find(m.left + m.right);
    if (l == by_entry.end() || r == by_entry.end() || lr == by_entry.end()) {
      const std::string& missing = l == by_entry.end() ? m.left : r == by_entry.end() ? m.right : m.left + m.right;
      return Status::UserError(m.where + ": merge \"" + m.left + " " + m.right + "\" uses \"" + missing +
                               "\", which is not in the vocabulary; the vocabulary and merges do not belong "
                               "together");
    }
    spec->merges.Add(l->second, r->second, lr->second);
  }
  spec->merges.Finish();
  return Status::Ok();
}

}  // namespace saturn
