// UTF-8 decoding that never fails, and the character classes of GPT-2's pre-tokenizer regex.
#pragma once

#include <cstddef>
#include <cstdint>

namespace saturn {

// Marks a byte that does not start a valid UTF-8 sequence (it stands for itself, length 1).
constexpr char32_t kInvalidCodePoint = 0xFFFFFFFF;

// Decodes the code point at p (p < end) and returns its length in bytes (1 to 4). A byte that
// does not begin a well-formed sequence (overlong, surrogate, > U+10FFFF, truncated, stray
// continuation) decodes as kInvalidCodePoint with length 1, so every byte string splits into
// characters and concatenating them gives the input back.
inline int DecodeUtf8(const unsigned char* p, const unsigned char* end, char32_t* cp) {
  unsigned char b0 = p[0];
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t left = static_cast<size_t>(end - p);
  auto cont = [&](size_t i) { return i < left && (p[i] & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (cont(1)) {
      *cp = (char32_t(b0 & 0x1F) << 6) | (p[1] & 0x3F);
      return 2;
    }
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (cont(1) && cont(2)) {
      char32_t c = (char32_t(b0 & 0x0F) << 12) | (char32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
      if (c >= 0x800 && (c < 0xD800 || c > 0xDFFF)) {
        *cp = c;
        return 3;
      }
    }
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (cont(1) && cont(2) && cont(3)) {
      char32_t c =
          (char32_t(b0 & 0x07) << 18) | (char32_t(p[1] & 0x3F) << 12) | (char32_t(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
      if (c >= 0x10000 && c <= 0x10FFFF) {
        *cp = c;
        return 4;
      }
    }
  }
  *cp = kInvalidCodePoint;
  return 1;
}

void AppendUtf8(char32_t cp, char* buf, int* len);  // buf holds 4 bytes; cp must be valid

// The index of the range holding cp among n sorted, disjoint ranges (fields lo and hi,
// inclusive), or n when none does. Binary search: the tables have thousands of ranges.
template <typename Range>
size_t FindRange(const Range* r, size_t n, char32_t cp) {
  size_t lo = 0, hi = n;  // the first range with hi >= cp
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (r[mid].hi < cp)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && r[lo].lo <= cp ? lo : n;
}  // buf holds 4 bytes; cp must be valid

// The classes the pre-tokenizer regex distinguishes. kOther is [^\s\p{L}\p{N}], and holds the
// invalid bytes too.
enum class CharClass : uint8_t { kOther, kLetter, kNumber, kSpace };

// Which \s: JavaScript's (gpt-3-encoder) or Unicode White_Space (Oniguruma, used by Hugging Face
// tokenizers). They differ in U+0085 (White_Space only) and U+FEFF (JavaScript only).
enum class SpaceFlavor : uint8_t { kJavaScript, kWhiteSpace };

CharClass ClassifyNonAscii(char32_t cp, SpaceFlavor flavor);

extern const CharClass kAsciiClass[128];

inline CharClass Classify(char32_t cp, SpaceFlavor flavor) {
  return cp < 0x80 ? kAsciiClass[cp] : ClassifyNonAscii(cp, flavor);
}

}  // namespace saturn
