#include "data/prepare.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "util/files.h"

namespace saturn {

Result<std::shared_ptr<const TokenFile>> PrepareTokens(const std::string& path, const Tokenizer& tok,
                                                       const std::string& cache_dir,
                                                       const std::function<void(const std::string&)>& note) {
  namespace fs = std::filesystem;
  if (!fs::exists(path)) return Status::UserError(path + ": no such file; expected a text file or a token file");
  if (IsTokenFile(path)) {
    Result<std::shared_ptr<const TokenFile>> f = TokenFile::Open(path);
    if (!f.ok()) return f.status();
    const TokenFileHeader& h = (*f)->header();
    if (h.tokenizer != tok.name() || h.vocab_size != uint32_t(tok.vocab_size()))
      return Status::UserError(path + ": tokenized by '" + h.tokenizer + "' (vocabulary " +
                               std::to_string(h.vocab_size) + "), but the job uses '" + tok.name() + "' (" +
                               std::to_string(tok.vocab_size()) + "); give the text instead, or tokenize it again");
    return f;
  }
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  char key[17];
  const std::string who = tok.name() + "/" + std::to_string(tok.vocab_size());
  std::snprintf(key, sizeof key, "%016llx",
                (unsigned long long)Fnv1a64(who.data(), who.size(), Fnv1a64(text->data(), text->size())));
  const std::string out = (fs::path(cache_dir) / (fs::path(path).stem().string() + "." + tok.name() + "." + key +
                                                  ".tokens")).string();
  if (!fs::exists(out)) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<uint32_t> tokens;
    for (int32_t id : tok.Encode(*text)) tokens.push_back(uint32_t(id));
    tokens.push_back(uint32_t(tok.eot_id()));
    SATURN_RETURN_IF_ERROR(WriteTokenFile(out, tokens, uint32_t(tok.vocab_size()), uint32_t(tok.eot_id()), tok.name()));
    if (note) {
      char line[512];
      std::snprintf(line, sizeof line, "tokenized %s: %.1f MB -> %zu tokens in %.1f s (%s)", path.c_str(),
                    double(text->size()) / 1e6, tokens.size(),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), out.c_str());
      note(line);
    }
  }
  return TokenFile::Open(out);
}

}  // namespace saturn
