// Non-special added tokens of a Hugging Face tokenizer.json (GPT-NeoX's runs of 2 to 24
// spaces): found in the text before pre-tokenization, leftmost first and longest at a position,
// like the tokenizers library's Aho-Corasick matcher (MatchKind::LeftmostLongest).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace saturn {

class AddedTokenMatcher {
 public:
  void Add(const std::string& content, int32_t id);
  bool empty() const { return nodes_.size() <= 1; }

  struct Match {
    size_t begin, end;
    int32_t id;
  };
  // Calls piece(begin, end) for each stretch of text between matches (possibly empty ones are
  // skipped) and token(id) for each match, in text order.
  template <typename Piece, typename Token>
  void Split(std::string_view text, Piece&& piece, Token&& token) const {
    size_t start = 0;
    for (size_t i = 0; i < text.size();) {
      // Cheap filters first: most bytes begin no added token, and most spaces are followed by a
      // word (NeoX's added tokens are runs of two or more spaces).
      unsigned char b0 = static_cast<unsigned char>(text[i]);
      if (!first_byte_[b0] ||
          (!single_byte_[b0] && (i + 1 == text.size() || !PairStarts(b0, static_cast<unsigned char>(text[i + 1]))))) {
        ++i;
        continue;
      }
      int32_t id;
      size_t len = LongestAt(text, i, &id);
      if (len == 0) {
        ++i;
        continue;
      }
      if (i > start) piece(start, i);
      token(id);
      i += len;
      start = i;
    }
    if (start < text.size()) piece(start, text.size());
  }

 private:
  size_t LongestAt(std::string_view text, size_t pos, int32_t* id) const;
  bool PairStarts(unsigned char a, unsigned char b) const { return pair_[(a << 8 | b) >> 6] >> (b & 63) & 1; }
  struct Node {
    std::vector<std::pair<unsigned char, int>> next;
    int32_t id = -1;
  };
  std::vector<Node> nodes_{1};
  bool first_byte_[256] = {};
  bool single_byte_[256] = {};  // a one-byte added token
  uint64_t pair_[1024] = {};    // bit (a << 8 | b): some added token starts with bytes a, b
};

}  // namespace saturn
