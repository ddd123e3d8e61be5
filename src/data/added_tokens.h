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
      if (!first_byte_[static_cast<unsigned char>(text[i])]) {
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
  struct Node {
    std::vector<std::pair<unsigned char, int>> next;
    int32_t id = -1;
  };
  std::vector<Node> nodes_{1};
  bool first_byte_[256] = {};
};

}  // namespace saturn
