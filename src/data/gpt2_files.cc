// Tokenizer::LoadGpt2: OpenAI's encoder.json + vocab.bpe, or the same under Hugging Face's names
// vocab.json + merges.txt.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/bpe_vocab.h"
#include "data/tokenizer.h"
#include "util/files.h"
#include "util/json_error.h"

namespace saturn {

namespace {

namespace fs = std::filesystem;

Status ParseMerges(const std::string& file, const std::string& text, std::vector<MergeLine>* out) {
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1 && line.rfind("#version", 0) == 0) continue;
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    size_t a = line.find_first_not_of(" \t");
    size_t a_end = line.find_first_of(" \t", a);
    size_t b = a_end == std::string::npos ? std::string::npos : line.find_first_not_of(" \t", a_end);
    size_t b_end = b == std::string::npos ? std::string::npos : line.find_first_of(" \t", b);
    bool trailing = b_end != std::string::npos && line.find_first_not_of(" \t", b_end) != std::string::npos;
    if (b == std::string::npos || trailing) {
      return Status::UserError(file + ":" + std::to_string(line_no) +
                               ": expected two tokens separated by a space (a BPE merge); fix or replace the file");
    }
    out->push_back({line.substr(a, a_end - a),
                    line.substr(b, b_end == std::string::npos ? std::string::npos : b_end - b),
                    file + ":" + std::to_string(line_no)});
  }
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<const Tokenizer>> LoadGpt2Named(const std::string& dir, const std::string& name) {
  std::string vocab_file, merges_file;
  for (const auto& [v, m] :
       {std::pair<const char*, const char*>{"encoder.json", "vocab.bpe"}, {"vocab.json", "merges.txt"}}) {
    if (fs::exists(fs::path(dir) / v) && fs::exists(fs::path(dir) / m)) {
      vocab_file = (fs::path(dir) / v).string();
      merges_file = (fs::path(dir) / m).string();
      break;
    }
  }
  if (vocab_file.empty()) {
    return Status::UserError(dir +
                             ": no GPT-2 tokenizer files here: expected encoder.json + vocab.bpe (or vocab.json + "
                             "merges.txt); run scripts/setup.sh, or set SATURN_GPT2_DIR to a directory with them");
  }
  Result<std::string> vocab_text = ReadFile(vocab_file);
  SATURN_RETURN_IF_ERROR(vocab_text.status());
  Result<std::string> merges_text = ReadFile(merges_file);
  SATURN_RETURN_IF_ERROR(merges_text.status());

  nlohmann::json j;
  try {
    j = nlohmann::json::parse(*vocab_text);
  } catch (const nlohmann::json::exception& e) {
    std::string at;
    const std::string why = JsonReason(e, *vocab_text, &at);
    return Status::UserError(vocab_file + (at.empty() ? "" : ":" + at) + ": not valid JSON (" + why +
                             "); fix or replace the file");
  }
  if (!j.is_object()) {
    return Status::UserError(vocab_file + ": expected a JSON object mapping tokens to ids; fix or replace the file");
  }
  std::vector<std::pair<std::string, int64_t>> vocab;
  vocab.reserve(j.size());
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_number_integer()) {
      return Status::UserError(vocab_file + ": the id of token \"" + it.key() +
                               "\" is not an integer; fix or replace "
                               "the file");
    }
    vocab.emplace_back(it.key(), it.value().get<int64_t>());
  }
  std::vector<MergeLine> merges;
  SATURN_RETURN_IF_ERROR(ParseMerges(merges_file, *merges_text, &merges));

  ByteLevelBpeSpec spec;
  spec.name = name;
  spec.space = SpaceFlavor::kJavaScript;
  SATURN_RETURN_IF_ERROR(FillVocab(vocab_file, vocab, merges, &spec));
  auto eot = j.find("<|endoftext|>");
  if (eot == j.end()) {
    return Status::UserError(vocab_file + ": no <|endoftext|> token; a GPT-2 vocabulary has it (id 50256)");
  }
  spec.eot_id = eot->get<int32_t>();
  return MakeByteLevelBpe(std::move(spec));
}

Result<std::shared_ptr<const Tokenizer>> Tokenizer::LoadGpt2(const std::string& dir) {
  return LoadGpt2Named(dir, "gpt2:" + dir);
}

}  // namespace saturn
