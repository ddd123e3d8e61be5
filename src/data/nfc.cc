#include "data/nfc.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "data/nfc_tables.h"
#include "data/unicode.h"

namespace saturn {

namespace {

using namespace nfc_tables;

constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

bool MaybeChanged(char32_t cp) {
  if (cp < 0x300 || cp == kInvalidCodePoint) return false;  // no combining mark or decomposable below U+0300
  return FindRange(kMaybeChanged, kMaybeChangedSize, cp) < kMaybeChangedSize;
}

uint8_t CombiningClass(char32_t cp) {
  if (cp < 0x300) return 0;
  const size_t i = FindRange(kCombining, kCombiningSize, cp);
  return i < kCombiningSize ? kCombining[i].ccc : 0;
}

void Decompose(char32_t cp, std::vector<char32_t>* out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    char32_t s = cp - kSBase;
    out->push_back(kLBase + s / kNCount);
    out->push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out->push_back(kTBase + s % kTCount);
    return;
  }
  const Decomposition* end = kDecompositions + kDecompositionsSize;
  const Decomposition* d =
      std::lower_bound(kDecompositions, end, cp, [](const Decomposition& e, char32_t c) { return e.cp < c; });
  if (d != end && d->cp == cp) {
    out->insert(out->end(), kDecompositionData + d->offset, kDecompositionData + d->offset + d->length);
  } else {
    out->push_back(cp);
  }
}

// The primary composite of (a, b), or 0 when there is none.
char32_t Compose(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  }
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount) {
    return a + (b - kTBase);
  }
  const Composition* end = kCompositions + kCompositionsSize;
  const Composition* c = std::lower_bound(kCompositions, end, std::make_pair(a, b), [](const Composition& e, auto key) {
    return e.first < key.first || (e.first == key.first && e.second < key.second);
  });
  return c != end && c->first == a && c->second == b ? c->composite : 0;
}

// NFC of a segment of valid UTF-8 that holds no invalid byte: decompose, order, compose.
void NormalizeSegment(std::string_view seg, std::string* out) {
  std::vector<char32_t> d;
  const auto* p = reinterpret_cast<const unsigned char*>(seg.data());
  const auto* end = p + seg.size();
  while (p < end) {
    char32_t cp;
    p += DecodeUtf8(p, end, &cp);
    Decompose(cp, &d);
  }
  // Canonical ordering: a stable sort of each run of non-starters by combining class.
  for (size_t i = 0; i < d.size();) {
    if (CombiningClass(d[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < d.size() && CombiningClass(d[j]) != 0) ++j;
    std::stable_sort(d.begin() + i, d.begin() + j,
                     [](char32_t x, char32_t y) { return CombiningClass(x) < CombiningClass(y); });
    i = j;
  }
  // Canonical composition: a character joins the last starter unless blocked, i.e. unless a
  // character between them has class 0 or a class >= its own.
  std::vector<char32_t> r;
  long starter = -1;
  uint8_t last_ccc = 0;
  for (char32_t cp : d) {
    uint8_t ccc = CombiningClass(cp);
    if (starter >= 0) {
      bool adjacent = static_cast<long>(r.size()) - 1 == starter;
      if (adjacent || (last_ccc != 0 && last_ccc < ccc)) {
        if (char32_t c = Compose(r[starter], cp)) {
          r[starter] = c;
          continue;
        }
      }
    }
    if (ccc == 0) starter = static_cast<long>(r.size());
    last_ccc = ccc;
    r.push_back(cp);
  }
  for (char32_t cp : r) {
    char buf[4];
    int len;
    AppendUtf8(cp, buf, &len);
    out->append(buf, len);
  }
}

}  // namespace

bool ToNfc(std::string_view text, std::string* out) {
  const auto* base = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = base + text.size();
  const auto* p = base;
  size_t last_safe = 0;  // start of the last code point that passes through unchanged
  size_t copied = 0;     // text[0, copied) is in *out
  bool changed = false;
  while (p < end) {
    if (end - p >= 8) {  // skip ASCII eight bytes at a time
      uint64_t word;
      std::memcpy(&word, p, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        last_safe = p + 7 - base;
        p += 8;
        continue;
      }
    }
    if (*p < 0x80) {
      last_safe = p - base;
      ++p;
      continue;
    }
    char32_t cp;
    int len = DecodeUtf8(p, end, &cp);
    if (!MaybeChanged(cp)) {
      last_safe = p - base;
      p += len;
      continue;
    }
    if (!changed) {
      out->clear();
      changed = true;
    }
    // Normalize from the last unchanged code point up to the next one: nothing outside interacts.
    size_t start = std::max(last_safe, copied);
    char32_t first;
    if (start < static_cast<size_t>(p - base) && DecodeUtf8(base + start, end, &first) == 1 &&
        first == kInvalidCodePoint) {
      ++start;  // an invalid byte stays as it is and composes with nothing
    }
    const auto* q = p + len;
    while (q < end) {
      char32_t c;
      int l = DecodeUtf8(q, end, &c);
      if (!MaybeChanged(c)) break;
      q += l;
    }
    out->append(text.data() + copied, start - copied);
    NormalizeSegment(text.substr(start, (q - base) - start), out);
    copied = q - base;
    p = q;
  }
  if (!changed) return true;
  out->append(text.data() + copied, text.size() - copied);
  return false;
}

}  // namespace saturn
