#include "data/token_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "data/tokenizer.h"
#include "util/files.h"

namespace saturn {
namespace {

constexpr char kMagic[8] = {'S', 'A', 'T', 'T', 'O', 'K', 'v', '1'};

template <typename T>
T Get(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // the format is little-endian, as every host we build for
  return v;
}

template <typename T>
void Put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof v);
}

}  // namespace

uint64_t Fnv1a64(const void* data, size_t n, uint64_t h) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

bool IsTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char m[8] = {};
  return in.read(m, 8) && std::memcmp(m, kMagic, 8) == 0;
}

Result<std::shared_ptr<const TokenFile>> TokenFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return Status::UserError(path + ": cannot open the token file: " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || st.st_size < off_t(kTokenHeaderBytes)) {
    ::close(fd);
    return Status::UserError(path + ": too short for a token file (" + std::to_string(kTokenHeaderBytes) +
                             "-byte header); make it again with `saturn tokenize`");
  }
  void* map = ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return Status::UserError(path + ": cannot map the token file: " + std::strerror(errno));
  std::shared_ptr<TokenFile> f(new TokenFile());
  f->path_ = path;
  f->map_ = map;
  f->map_bytes_ = size_t(st.st_size);
  const unsigned char* p = static_cast<const unsigned char*>(map);
  if (std::memcmp(p, kMagic, 8) != 0)
    return Status::UserError(path + ": not a token file (bad magic); make one with `saturn tokenize`");
  TokenFileHeader& h = f->header_;
  h.bytes_per_token = Get<uint32_t>(p + 8);
  h.vocab_size = Get<uint32_t>(p + 12);
  h.eot_id = Get<uint32_t>(p + 16);
  h.count = Get<uint64_t>(p + 24);
  h.checksum = Get<uint64_t>(p + 32);
  h.tokenizer.assign(reinterpret_cast<const char*>(p + 40), strnlen(reinterpret_cast<const char*>(p + 40), 24));
  if (h.bytes_per_token != 2 && h.bytes_per_token != 4)
    return Status::UserError(path + ": header says " + std::to_string(h.bytes_per_token) +
                             " bytes per token; expected 2 or 4 (corrupt file?)");
  // Compared by division: a count near 2^64 must not wrap the product back to the file's size.
  const uint64_t have = (uint64_t(st.st_size) - kTokenHeaderBytes) / h.bytes_per_token;
  if (h.count != have || (uint64_t(st.st_size) - kTokenHeaderBytes) % h.bytes_per_token != 0)
    return Status::UserError(path + ": header says " + std::to_string(h.count) + " tokens but the file has room for " +
                             std::to_string(have) + " (" + std::to_string(st.st_size) +
                             " bytes; truncated?); make it again");
  f->tokens_ = p + kTokenHeaderBytes;
  if (Fnv1a64(f->tokens_, h.count * h.bytes_per_token) != h.checksum)
    return Status::UserError(path + ": checksum mismatch: the tokens are corrupt; make the file again");
  // Every id, not a sample: an id past the vocabulary would index past the embedding.
  for (uint64_t i = 0; i < h.count; ++i)
    if (f->at(i) >= h.vocab_size)
      return Status::UserError(path + ": token " + std::to_string(i) + " is " + std::to_string(f->at(i)) +
                               ", past the vocabulary of " + std::to_string(h.vocab_size));
  return std::shared_ptr<const TokenFile>(std::move(f));
}

TokenFile::~TokenFile() {
  if (map_) ::munmap(map_, map_bytes_);
}

Status WriteTokenFile(const std::string& path, const std::vector<uint32_t>& tokens, uint32_t vocab_size,
                      uint32_t eot_id, const std::string& tokenizer_name) {
  const uint32_t width = vocab_size <= 65536 ? 2 : 4;
  std::string body;
  body.reserve(tokens.size() * width);
  for (uint32_t t : tokens) {
    assert(t < vocab_size);
    if (width == 2) Put<uint16_t>(&body, uint16_t(t));
    else Put<uint32_t>(&body, t);
  }
  std::string out(kMagic, 8);
  Put<uint32_t>(&out, width);
  Put<uint32_t>(&out, vocab_size);
  Put<uint32_t>(&out, eot_id);
  Put<uint32_t>(&out, 0);
  Put<uint64_t>(&out, tokens.size());
  Put<uint64_t>(&out, Fnv1a64(body.data(), body.size()));
  std::string name = tokenizer_name.substr(0, 23);
  name.resize(24, '\0');
  out += name;
  assert(out.size() == kTokenHeaderBytes);
  out += body;
  return WriteFileAtomic(path, out);
}

Result<uint64_t> TokenizeFiles(const Tokenizer& tok, const std::vector<std::string>& text_files,
                               const std::string& out_path) {
  std::vector<uint32_t> tokens;
  for (const std::string& f : text_files) {
    Result<std::string> text = ReadFile(f);
    if (!text.ok()) return text.status();
    for (int32_t id : tok.Encode(*text)) tokens.push_back(uint32_t(id));
    tokens.push_back(uint32_t(tok.eot_id()));
  }
  SATURN_RETURN_IF_ERROR(WriteTokenFile(out_path, tokens, uint32_t(tok.vocab_size()), uint32_t(tok.eot_id()), tok.name()));
  return uint64_t(tokens.size());
}

}  // namespace saturn
