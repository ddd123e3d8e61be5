#include "data/byte_level_bpe.h"

#include <algorithm>
#include <atomic>
#include <unordered_map>

#include "data/nfc.h"
#include "data/pretokenize.h"
#include "data/word_cache.h"

namespace saturn {

namespace {

std::atomic<uint32_t> next_serial{1};

class ByteLevelBpe : public Tokenizer {
 public:
  explicit ByteLevelBpe(ByteLevelBpeSpec spec) : s_(std::move(spec)), serial_(next_serial++) {
    for (auto& [word, id] : s_.vocab) whole_words_.emplace(std::move(word), id);
    s_.vocab.clear();
    has_unknown_bytes_ =
        std::find(std::begin(s_.unknown_bytes), std::end(s_.unknown_bytes), true) != std::end(s_.unknown_bytes);
  }

  std::vector<int32_t> Encode(std::string_view bytes) const override {
    std::string replaced;
    if (has_unknown_bytes_) bytes = ReplaceUnknownBytes(bytes, &replaced);
    std::vector<int32_t> out;
    out.reserve(bytes.size() / 3 + 16);
    if (s_.raw_added.empty()) {
      EncodeNormalizing(bytes, &out);
    } else {
      s_.raw_added.Split(
          bytes, [&](size_t b, size_t e) { EncodeNormalizing(bytes.substr(b, e - b), &out); },
          [&](int32_t id) { out.push_back(id); });
    }
    return out;
  }

  std::string Decode(const std::vector<int32_t>& ids) const override {
    std::string out;
    for (int32_t id : ids) {
      // An id outside the vocabulary is a caller's bug; it decodes to nothing.
      if (id >= 0 && id < static_cast<int32_t>(s_.id_bytes.size())) out += s_.id_bytes[id];
    }
    return out;
  }

  int vocab_size() const override { return static_cast<int>(s_.id_bytes.size()); }
  int eot_id() const override { return s_.eot_id; }
  std::string name() const override { return s_.name; }

 private:
  std::string_view ReplaceUnknownBytes(std::string_view text, std::string* buf) const {
    size_t i = 0;
    while (i < text.size() && !s_.unknown_bytes[static_cast<unsigned char>(text[i])]) ++i;
    if (i == text.size()) return text;
    buf->assign(text.data(), i);
    for (; i < text.size(); ++i) {
      if (s_.unknown_bytes[static_cast<unsigned char>(text[i])])
        *buf += "\xEF\xBF\xBD";
      else
        *buf += text[i];
    }
    return *buf;
  }

  void EncodeNormalizing(std::string_view text, std::vector<int32_t>* out) const {
    std::string normalized;
    if (s_.nfc && !ToNfc(text, &normalized)) text = normalized;
    if (s_.normalized_added.empty()) {
      EncodePiece(text, out);
    } else {
      s_.normalized_added.Split(
          text, [&](size_t b, size_t e) { EncodePiece(text.substr(b, e - b), out); },
          [&](int32_t id) { out->push_back(id); });
    }
  }

  void EncodePiece(std::string_view text, std::vector<int32_t>* out) const {
    std::string prefixed;
    if (s_.add_prefix_space && !text.empty() && text[0] != ' ') {
      prefixed = " " + std::string(text);
      text = prefixed;
    }
    if (!s_.use_regex) {
      if (!text.empty()) EncodeWord(text, out);
      return;
    }
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
      size_t len = PretokenLength(p, end, s_.space);
      EncodeWord(std::string_view(reinterpret_cast<const char*>(p), len), out);
      p += len;
    }
  }

  void EncodeWord(std::string_view word, std::vector<int32_t>* out) const {
    if (word.size() == 1) {
      out->push_back(s_.merges.byte_id(static_cast<unsigned char>(word[0])));
      return;
    }
    if (s_.ignore_merges) {
      auto it = whole_words_.find(std::string(word));
      if (it != whole_words_.end()) {
        out->push_back(it->second);
        return;
      }
    }
    if (word.size() > WordCache::kMaxWordBytes) {
      s_.merges.EncodeWord(word, out);
      return;
    }
    WordCache& cache = WordCache::ForThisThread();
    uint64_t h = WordCache::Hash(word);
    if (cache.Get(serial_, h, word, out)) return;
    size_t before = out->size();
    s_.merges.EncodeWord(word, out);
    cache.Put(serial_, h, word, out->data() + before, out->size() - before);
  }

  ByteLevelBpeSpec s_;
  uint32_t serial_;
  bool has_unknown_bytes_ = false;
  std::unordered_map<std::string, int32_t> whole_words_;
};

}  // namespace

std::shared_ptr<const Tokenizer> MakeByteLevelBpe(ByteLevelBpeSpec spec) {
  return std::make_shared<ByteLevelBpe>(std::move(spec));
}

}  // namespace saturn
