// The byte-level BPE merge engine: splits one pre-token into vocabulary ids by applying merges
// in rank order, as OpenAI's encoder does (lowest-ranked adjacent pair first, all its
// occurrences left to right) and as Hugging Face's BPE model does (a heap of (rank, position)).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace saturn {

class BpeMerges {
 public:
  struct Merge {
    uint32_t rank;
    int32_t id;  // the merged token
  };

  BpeMerges();
  void SetByteId(unsigned char b, int32_t id) { byte_ids_[b] = id; }
  int32_t byte_id(unsigned char b) const { return byte_ids_[b]; }
  // Ranks follow the calls' order; a pair added twice keeps the later rank (as a dict would).
  void Add(int32_t left, int32_t right, int32_t merged);
  // Call once all merges are in: decides whether the heap algorithm, used for long words, gives
  // the same result as the quadratic rank-by-rank one (it does when every merge ranks after the
  // merges that make its parts, true of merges lists written by BPE training).
  void Finish();

  const Merge* Find(int32_t left, int32_t right) const {
    uint64_t key = Key(left, right);
    for (size_t i = Slot(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) return &values_[i];
      if (keys_[i] == kEmpty) return nullptr;
    }
  }

  // Appends the ids of `word` (raw bytes, not empty) to *out.
  void EncodeWord(std::string_view word, std::vector<int32_t>* out) const;

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static uint64_t Key(int32_t l, int32_t r) { return (uint64_t(uint32_t(l)) << 32) | uint32_t(r); }
  size_t Slot(uint64_t key) const { return (key * 0x9E3779B97F4A7C15ULL) >> shift_; }
  void Grow();
  size_t EncodeQuadratic(int32_t* syms, size_t n) const;  // returns the new length
  void EncodeHeap(std::vector<int32_t>* syms) const;

  int32_t byte_ids_[256];
  std::vector<uint64_t> keys_;
  std::vector<Merge> values_;
  size_t size_ = 0, mask_ = 0;
  int shift_ = 64;
  uint32_t next_rank_ = 0;
  bool heap_ok_ = false;
  std::vector<std::pair<uint64_t, int32_t>> added_;  // (pair, merged) in order, for Finish
};

}  // namespace saturn
