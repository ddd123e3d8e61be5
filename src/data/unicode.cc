#include "data/unicode.h"

#include "data/unicode_tables.h"

namespace saturn {

namespace {

bool InRanges(char32_t cp, const unicode_tables::CodeRange* r, size_t n) { return FindRange(r, n, cp) < n; }

}  // namespace

#define O CharClass::kOther
#define L CharClass::kLetter
#define N CharClass::kNumber
#define S CharClass::kSpace
const CharClass kAsciiClass[128] = {
    O, O, O, O, O, O, O, O, O, S, S, S, S, S, O, O,  // 0x00: \t \n \v \f \r
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,  // 0x10
    S, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,  // 0x20: space
    N, N, N, N, N, N, N, N, N, N, O, O, O, O, O, O,  // 0x30: digits
    O, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,  // 0x40
    L, L, L, L, L, L, L, L, L, L, L, O, O, O, O, O,  // 0x50
    O, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,  // 0x60
    L, L, L, L, L, L, L, L, L, L, L, O, O, O, O, O,  // 0x70
};
#undef O
#undef L
#undef N
#undef S

void AppendUtf8(char32_t cp, char* buf, int* len) {
  if (cp < 0x80) {
    buf[0] = static_cast<char>(cp);
    *len = 1;
  } else if (cp < 0x800) {
    buf[0] = static_cast<char>(0xC0 | (cp >> 6));
    buf[1] = static_cast<char>(0x80 | (cp & 0x3F));
    *len = 2;
  } else if (cp < 0x10000) {
    buf[0] = static_cast<char>(0xE0 | (cp >> 12));
    buf[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    buf[2] = static_cast<char>(0x80 | (cp & 0x3F));
    *len = 3;
  } else {
    buf[0] = static_cast<char>(0xF0 | (cp >> 18));
    buf[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    buf[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    buf[3] = static_cast<char>(0x80 | (cp & 0x3F));
    *len = 4;
  }
}

CharClass ClassifyNonAscii(char32_t cp, SpaceFlavor flavor) {
  using namespace unicode_tables;
  if (cp == kInvalidCodePoint) return CharClass::kOther;
  if (InRanges(cp, kLetter, kLetterSize)) return CharClass::kLetter;
  if (InRanges(cp, kNumber, kNumberSize)) return CharClass::kNumber;
  bool space = flavor == SpaceFlavor::kJavaScript ? InRanges(cp, kJsSpace, kJsSpaceSize)
                                                  : InRanges(cp, kWhiteSpace, kWhiteSpaceSize);
  return space ? CharClass::kSpace : CharClass::kOther;
}

}  // namespace saturn
