#include "data/byte_level.h"

#include <array>

#include "data/unicode.h"

namespace saturn {

namespace {

struct Table {
  std::array<char32_t, 256> to_char;
  std::array<int, 0x200> to_byte;  // -1 where no byte maps; every mapped char is < U+0144
  Table() {
    to_byte.fill(-1);
    char32_t n = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_char[b] = printable ? static_cast<char32_t>(b) : 0x100 + n++;
      to_byte[to_char[b]] = b;
    }
  }
};

const Table& GetTable() {
  static const Table table;
  return table;
}

}  // namespace

char32_t ByteToChar(unsigned char b) { return GetTable().to_char[b]; }

std::optional<std::string> VocabEntryToBytes(std::string_view entry) {
  const Table& t = GetTable();
  std::string out;
  const auto* p = reinterpret_cast<const unsigned char*>(entry.data());
  const auto* end = p + entry.size();
  while (p < end) {
    char32_t cp;
    p += DecodeUtf8(p, end, &cp);
    if (cp >= t.to_byte.size() || t.to_byte[cp] < 0) return std::nullopt;
    out.push_back(static_cast<char>(t.to_byte[cp]));
  }
  return out;
}

}  // namespace saturn
