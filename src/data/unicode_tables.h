// Generated code point tables (src/data/unicode_tables.cc, by scripts/gen_unicode_tables.js).
#pragma once

#include <cstddef>

namespace saturn {
namespace unicode_tables {

struct CodeRange {
  char32_t lo, hi;  // inclusive
};

extern const CodeRange kLetter[];  // JavaScript \p{L}
extern const size_t kLetterSize;
extern const CodeRange kNumber[];  // JavaScript \p{N}
extern const size_t kNumberSize;
extern const CodeRange kJsSpace[];  // JavaScript \s
extern const size_t kJsSpaceSize;
extern const CodeRange kWhiteSpace[];  // Unicode White_Space (Oniguruma's \s)
extern const size_t kWhiteSpaceSize;

}  // namespace unicode_tables
}  // namespace saturn
