// GPT-2's byte <-> printable character table: byte-level BPE vocabularies spell each byte as
// one code point (printable ASCII and Latin-1 stand for themselves, the rest from U+0100 on).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace saturn {

char32_t ByteToChar(unsigned char b);
// The bytes a vocabulary entry spells, or nullopt when it holds a character outside the table
// (an added token written as plain text) or is not valid UTF-8.
std::optional<std::string> VocabEntryToBytes(std::string_view entry);

}  // namespace saturn
