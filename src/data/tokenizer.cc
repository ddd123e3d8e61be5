#include "data/tokenizer.h"

#include <cstdlib>
#include <filesystem>

#include "data/byte_level_bpe.h"

namespace saturn {

namespace {
namespace fs = std::filesystem;

bool HasGpt2Files(const fs::path& dir) {
  return (fs::exists(dir / "encoder.json") && fs::exists(dir / "vocab.bpe")) ||
         (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt"));
}
}  // namespace

Result<std::string> FindGpt2Dir() {
  if (const char* env = std::getenv("SATURN_GPT2_DIR"); env && *env) {
    if (!HasGpt2Files(env)) {
      return Status::UserError(std::string("SATURN_GPT2_DIR=") + env +
                               ": no encoder.json + vocab.bpe (or vocab.json + "
                               "merges.txt) there; point it at GPT-2's tokenizer files, or unset it and run "
                               "scripts/setup.sh");
    }
    return std::string(env);
  }
  const fs::path source(SATURN_SOURCE_TREE);
  for (const fs::path& dir : {source / "third_party" / "tokenizers" / "gpt2",
                              source.parent_path() / "shared" / "data" / "tokenizers" / "gpt2"}) {
    if (HasGpt2Files(dir)) return dir.lexically_normal().string();
  }
  return Status::UserError(
      "GPT-2 tokenizer files not found (looked in " + (source / "third_party/tokenizers/gpt2").string() + " and " +
      (source.parent_path() / "shared/data/tokenizers/gpt2").string() +
      "); run scripts/setup.sh, or set SATURN_GPT2_DIR to a directory with encoder.json + vocab.bpe");
}

Result<std::shared_ptr<const Tokenizer>> Tokenizer::Load(const std::string& spec) {
  if (spec == "gpt2") {
    Result<std::string> dir = FindGpt2Dir();
    SATURN_RETURN_IF_ERROR(dir.status());
    return LoadGpt2Named(*dir, "gpt2");
  }
  size_t colon = spec.find(':');
  std::string kind = spec.substr(0, colon);
  std::string path = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (colon != std::string::npos && !path.empty()) {
    if (kind == "gpt2") return LoadGpt2(path);
    if (kind == "hf") return LoadHf(path);
  }
  return Status::UserError("tokenizer \"" + spec +
                           "\": unknown; use \"gpt2\", \"gpt2:DIR\" (encoder.json + vocab.bpe "
                           "there) or \"hf:PATH\" (a tokenizer.json, or a directory holding one)");
}

Result<std::vector<std::string>> TokenizerFiles(const std::string& spec) {
  std::string dir;
  if (spec == "gpt2") {
    Result<std::string> found = FindGpt2Dir();
    if (!found.ok()) return found.status();
    dir = *found;
  } else if (spec.rfind("gpt2:", 0) == 0) {
    dir = spec.substr(5);
  } else if (spec.rfind("hf:", 0) == 0) {
    const fs::path p(spec.substr(3));
    return std::vector<std::string>{fs::is_directory(p) ? (p / "tokenizer.json").string() : p.string()};
  } else {
    return Status::UserError("tokenizer \"" + spec + "\": unknown");
  }
  const fs::path d(dir);
  if (fs::exists(d / "encoder.json") && fs::exists(d / "vocab.bpe"))
    return std::vector<std::string>{(d / "encoder.json").string(), (d / "vocab.bpe").string()};
  return std::vector<std::string>{(d / "vocab.json").string(), (d / "merges.txt").string()};
}

}  // namespace saturn
