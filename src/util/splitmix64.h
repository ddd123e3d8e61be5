// splitmix64 (Steele, Lea, Flood 2014; the reference code is public domain): a few lines that
// give the same numbers with every compiler and standard library, for seeded orders that must
// not change between machines (training windows, few-shot examples).
#pragma once

#include <cassert>
#include <cstdint>

namespace saturn {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t state) : state_(state) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n >= 1, without modulo bias: draws below 2^64 mod n are rejected.
  uint64_t Below(uint64_t n) {
    assert(n >= 1);
    const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    for (;;) {
      uint64_t r = Next();
      if (r >= threshold) return r % n;
    }
  }

 private:
  uint64_t state_;
};

}  // namespace saturn
