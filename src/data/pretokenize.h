// GPT-2's pre-tokenizer, the regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// matched by hand (the regex libraries at hand are slow or lack Unicode classes).
#pragma once

#include <cstddef>

#include "data/unicode.h"

namespace saturn {

// The length in bytes of the match at p (p < end); matches tile the text like a global regex
// search does. Invalid UTF-8 bytes are characters of their own in the class [^\s\p{L}\p{N}].
size_t PretokenLength(const unsigned char* p, const unsigned char* end, SpaceFlavor flavor);

}  // namespace saturn
