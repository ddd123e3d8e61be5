// A per-thread, direct-mapped cache from pre-token bytes to their BPE ids. Encode is const and
// may run on several threads at once, so each thread has its own cache; entries carry the
// owning tokenizer's serial number, so tokenizers never see each other's entries. Bounded: a
// new word evicts whatever was in its slot.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace saturn {

class WordCache {
 public:
  static constexpr size_t kMaxWordBytes = 32;  // longer words are rare; not worth a slot

  static WordCache& ForThisThread() {
    thread_local WordCache cache;
    return cache;
  }

  static uint64_t Hash(std::string_view w) {
    uint64_t h = 0xcbf29ce484222325ULL ^ w.size();
    for (unsigned char c : w) h = (h ^ c) * 0x100000001b3ULL;
    return h ^ (h >> 29);
  }

  // The cached ids of `word` for tokenizer `owner`, or nullptr.
  const std::vector<int32_t>* Find(uint64_t owner, uint64_t hash, std::string_view word) const {
    const Slot& s = slots_[hash & (kSlots - 1)];
    if (s.owner == owner && s.hash == hash && s.word == word) return &s.ids;
    return nullptr;
  }

  void Put(uint64_t owner, uint64_t hash, std::string_view word, const int32_t* ids, size_t n) {
    Slot& s = slots_[hash & (kSlots - 1)];
    s.owner = owner;
    s.hash = hash;
    s.word.assign(word.data(), word.size());
    s.ids.assign(ids, ids + n);
  }

 private:
  static constexpr size_t kSlots = 1 << 15;
  struct Slot {
    uint64_t owner = 0;  // serial numbers start at 1
    uint64_t hash = 0;
    std::string word;
    std::vector<int32_t> ids;
  };
  WordCache() : slots_(kSlots) {}
  std::vector<Slot> slots_;
};

}  // namespace saturn
