#include "data/added_tokens.h"

namespace saturn {

void AddedTokenMatcher::Add(const std::string& content, int32_t id) {
  if (content.empty()) return;
  const auto b0 = static_cast<unsigned char>(content[0]);
  first_byte_[b0] = true;
  if (content.size() == 1) {
    single_byte_[b0] = true;
  } else {
    const auto b1 = static_cast<unsigned char>(content[1]);
    pair_[(b0 << 8 | b1) >> 6] |= uint64_t{1} << (b1 & 63);
  }
  int node = 0;
  for (unsigned char c : content) {
    int child = -1;
    for (const auto& [b, n] : nodes_[node].next) {
      if (b == c) child = n;
    }
    if (child < 0) {
      child = static_cast<int>(nodes_.size());
      nodes_[node].next.emplace_back(c, child);
      nodes_.emplace_back();
    }
    node = child;
  }
  nodes_[node].id = id;
}

size_t AddedTokenMatcher::LongestAt(std::string_view text, size_t pos, int32_t* id) const {
  size_t best = 0;
  int node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    int child = -1;
    for (const auto& [b, n] : nodes_[node].next) {
      if (b == static_cast<unsigned char>(text[i])) child = n;
    }
    if (child < 0) break;
    node = child;
    if (nodes_[node].id >= 0) {
      best = i + 1 - pos;
      *id = nodes_[node].id;
    }
  }
  return best;
}

}  // namespace saturn
