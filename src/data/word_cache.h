// A per-thread, two-way set-associative cache (LRU within a set) from pre-token bytes to their
// BPE ids. Encode is const and
// may run on several threads at once, so each thread has its own cache; entries carry the
// owning tokenizer's serial number, so tokenizers never see each other's entries. Bounded (about
// 4 MB a thread): a new word evicts whatever was in its slot. Slots hold their data inline, so a
// lookup touches one or two cache lines and never allocates.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace saturn {

class WordCache {
 public:
  static constexpr size_t kMaxWordBytes = 30;  // longer words are rare: not cached
  static constexpr size_t kMaxIds = 7;         // so are words of more tokens

  static WordCache& ForThisThread() {
    thread_local WordCache cache;
    return cache;
  }

  static uint64_t Hash(std::string_view w) {
    uint64_t h = 0xcbf29ce484222325ULL ^ w.size();
    for (unsigned char c : w) h = (h ^ c) * 0x100000001b3ULL;
    return h ^ (h >> 29);
  }

  // Appends the cached ids of `word` for tokenizer `owner` to *out; false when not cached.
  bool Get(uint32_t owner, uint64_t hash, std::string_view word, std::vector<int32_t>* out) {
    Slot* set = &slots_[(hash & (kSets - 1)) * 2];
    for (int way = 0; way < 2; ++way) {
      const Slot& s = set[way];
      if (s.owner != owner || s.word_len != word.size() || std::memcmp(s.word, word.data(), word.size()) != 0) {
        continue;
      }
      out->insert(out->end(), s.ids, s.ids + s.n_ids);
      if (way == 1) std::swap(set[0], set[1]);  // most recently used first
      return true;
    }
    return false;
  }

  void Put(uint32_t owner, uint64_t hash, std::string_view word, const int32_t* ids, size_t n) {
    if (word.size() > kMaxWordBytes || n > kMaxIds) return;
    Slot* set = &slots_[(hash & (kSets - 1)) * 2];
    set[1] = set[0];  // evict the least recently used
    Slot& s = set[0];
    s.owner = owner;
    s.word_len = static_cast<uint8_t>(word.size());
    std::memcpy(s.word, word.data(), word.size());
    s.n_ids = static_cast<uint8_t>(n);
    std::memcpy(s.ids, ids, n * sizeof(int32_t));
  }

 private:
  static constexpr size_t kSets = 1 << 15;
  struct alignas(64) Slot {
    uint32_t owner = 0;  // serial numbers start at 1
    uint8_t word_len = 0, n_ids = 0;
    char word[kMaxWordBytes];
    int32_t ids[kMaxIds];
  };
  static_assert(sizeof(Slot) == 64, "a slot is one cache line");
  WordCache() : slots_(new Slot[2 * kSets]) {}
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace saturn
