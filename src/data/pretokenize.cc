#include "data/pretokenize.h"

namespace saturn {

namespace {

struct Char {
  CharClass cls;
  int len;
};

inline Char At(const unsigned char* p, const unsigned char* end, SpaceFlavor flavor) {
  if (*p < 0x80) return {Classify(*p, flavor), 1};
  char32_t cp;
  int len = DecodeUtf8(p, end, &cp);
  return {Classify(cp, flavor), len};
}

// The end of the run of characters of class `cls` that starts at p.
inline const unsigned char* RunEnd(const unsigned char* p, const unsigned char* end, CharClass cls,
                                   SpaceFlavor flavor) {
  while (p < end) {
    Char c = At(p, end, flavor);
    if (c.cls != cls) break;
    p += c.len;
  }
  return p;
}

}  // namespace

size_t PretokenLength(const unsigned char* p, const unsigned char* end, SpaceFlavor flavor) {
  // 's|'t|'re|'ve|'m|'ll|'d: tried first, so "'s" wins over the punctuation class.
  if (*p == '\'' && end - p >= 2) {
    unsigned char c = p[1];
    if (c == 's' || c == 't' || c == 'm' || c == 'd') return 2;
    if (end - p >= 3 && ((c == 'r' && p[2] == 'e') || (c == 'v' && p[2] == 'e') || (c == 'l' && p[2] == 'l'))) {
      return 3;
    }
  }
  Char first = At(p, end, flavor);
  // " ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+": an optional space, then a run of one class.
  if (*p == ' ' && end - p >= 2) {
    Char next = At(p + 1, end, flavor);
    if (next.cls != CharClass::kSpace) return RunEnd(p + 1 + next.len, end, next.cls, flavor) - p;
  }
  if (first.cls != CharClass::kSpace) return RunEnd(p + first.len, end, first.cls, flavor) - p;
  // "\s+(?!\S)|\s+": the whole run of white space at the end of the text; before anything else,
  // the run less its last character (left to prefix the next word), or one character alone.
  const unsigned char* q = p;
  const unsigned char* last = p;
  int count = 0;
  while (q < end) {
    Char c = At(q, end, flavor);
    if (c.cls != CharClass::kSpace) break;
    last = q;
    q += c.len;
    ++count;
  }
  if (q == end || count == 1) return q - p;
  return last - p;
}

}  // namespace saturn
