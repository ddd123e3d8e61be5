// Generated Unicode normalization data (src/data/nfc_tables.cc, by scripts/gen_nfc_tables.py).
#pragma once

#include <cstddef>
#include <cstdint>

namespace saturn {
namespace nfc_tables {

struct CombiningRange {
  char32_t lo, hi;  // inclusive
  uint8_t ccc;      // canonical combining class, never 0 here
};
struct Decomposition {
  char32_t cp;
  uint32_t offset, length;  // into kDecompositionData: the full canonical decomposition
};
struct Composition {
  char32_t first, second, composite;  // sorted by (first, second)
};
struct Range {
  char32_t lo, hi;
};

extern const CombiningRange kCombining[];
extern const size_t kCombiningSize;
extern const Decomposition kDecompositions[];
extern const size_t kDecompositionsSize;
extern const char32_t kDecompositionData[];
extern const Composition kCompositions[];
extern const size_t kCompositionsSize;
// Code points NFC may change or that may combine with a preceding one. All others are starters
// that NFC leaves as they are and that no composition crosses from the left.
extern const Range kMaybeChanged[];
extern const size_t kMaybeChangedSize;

}  // namespace nfc_tables
}  // namespace saturn
