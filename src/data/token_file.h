// Token files: a corpus tokenized once, read by memory mapping. Layout (docs/data.md), all
// little-endian:
//   0  char[8]  magic "SATTOKv1"
//   8  u32      bytes per token: 2 (uint16, vocab <= 65536) or 4 (uint32)
//   12 u32      vocab size
//   16 u32      end-of-text id (put between documents)
//   20 u32      reserved, 0
//   24 u64      token count
//   32 u64      checksum: FNV-1a 64 of the token bytes
//   40 char[24] tokenizer name, NUL-padded
//   64          the tokens
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/status.h"

namespace saturn {

class Tokenizer;

struct TokenFileHeader {
  uint32_t bytes_per_token = 2;
  uint32_t vocab_size = 0;
  uint32_t eot_id = 0;
  uint64_t count = 0;
  uint64_t checksum = 0;
  std::string tokenizer;
};

constexpr size_t kTokenHeaderBytes = 64;

uint64_t Fnv1a64(const void* data, size_t n, uint64_t h = 0xcbf29ce484222325ull);

// A read-only, memory-mapped token file. Opening checks the header, the size and the checksum:
// a truncated or corrupt file is a user error naming it.
class TokenFile {
 public:
  static Result<std::shared_ptr<const TokenFile>> Open(const std::string& path);
  ~TokenFile();
  TokenFile(const TokenFile&) = delete;
  TokenFile& operator=(const TokenFile&) = delete;

  const TokenFileHeader& header() const { return header_; }
  const std::string& path() const { return path_; }
  uint64_t size() const { return header_.count; }
  uint32_t at(uint64_t i) const {
    return header_.bytes_per_token == 2 ? reinterpret_cast<const uint16_t*>(tokens_)[i]
                                        : reinterpret_cast<const uint32_t*>(tokens_)[i];
  }

 private:
  TokenFile() = default;
  std::string path_;
  TokenFileHeader header_;
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  const unsigned char* tokens_ = nullptr;
};

// Writes tokens with a header (checksum computed here); the file appears whole or not at all.
Status WriteTokenFile(const std::string& path, const std::vector<uint32_t>& tokens, uint32_t vocab_size,
                      uint32_t eot_id, const std::string& tokenizer_name);

// Tokenizes text files into one token file: each file's encoding followed by end-of-text.
// Returns the token count.
Result<uint64_t> TokenizeFiles(const Tokenizer& tok, const std::vector<std::string>& text_files,
                               const std::string& out_path);

// Whether `path` starts with a token file's magic (else it is taken as text).
bool IsTokenFile(const std::string& path);

}  // namespace saturn
