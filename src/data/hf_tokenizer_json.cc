// Tokenizer::LoadHf: the BPE model of a Hugging Face tokenizer.json with a ByteLevel
// pre-tokenizer. What the file may say and how it is honoured:
//   normalizer: null or NFC (also inside a Sequence); others are refused.
//   pre_tokenizer: ByteLevel (add_prefix_space, use_regex), alone or as the only member of a
//     Sequence; others are refused. Its regex's \s is Unicode White_Space (Oniguruma's).
//   model: type BPE, vocab, merges ("a b" strings or [a, b] pairs), ignore_merges; dropout,
//     continuing_subword_prefix, end_of_word_suffix and byte_fallback must be off.
//   added_tokens: special ones are never produced from text (use eot_id()); non-special ones
//     are matched leftmost-longest before pre-tokenization, on raw text (normalized: false) or
//     after the normalizer (normalized: true), as the tokenizers library does.
//   post_processor: ignored. ByteLevel's only affects offsets; one that adds special tokens
//     (TemplateProcessing) is not applied, as Encode never produces special tokens.
//   decoder: must be null or ByteLevel (Decode maps bytes back; added tokens decode as text).
#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/bpe_vocab.h"
#include "data/tokenizer.h"
#include "util/files.h"
#include "util/json_error.h"

namespace saturn {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string TypeOf(const json& j) {
  return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : "";
}

Status Unsupported(const std::string& file, const std::string& what) {
  return Status::UserError(file + ": " + what +
                           "; Saturn reads byte-level BPE tokenizers (GPT-2, GPT-NeoX, Pythia) only");
}

bool Truthy(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && !it->is_null() && !(it->is_boolean() && !it->get<bool>()) &&
         !(it->is_string() && it->get<std::string>().empty());
}

Status ReadNormalizer(const std::string& file, const json& n, ByteLevelBpeSpec* spec) {
  if (n.is_null()) return Status::Ok();
  std::string type = TypeOf(n);
  if (type == "NFC") {
    spec->nfc = true;
    return Status::Ok();
  }
  if (type == "Sequence" && n.contains("normalizers") && n["normalizers"].is_array()) {
    for (const json& m : n["normalizers"]) SATURN_RETURN_IF_ERROR(ReadNormalizer(file, m, spec));
    return Status::Ok();
  }
  return Unsupported(file,
                     "normalizer \"" + (type.empty() ? n.dump() : type) + "\" is not supported (only null and NFC)");
}

Status ReadPreTokenizer(const std::string& file, const json& p, ByteLevelBpeSpec* spec) {
  std::string type = TypeOf(p);
  if (type == "Sequence" && p.contains("pretokenizers") && p["pretokenizers"].is_array() &&
      p["pretokenizers"].size() == 1) {
    return ReadPreTokenizer(file, p["pretokenizers"][0], spec);
  }
  if (type != "ByteLevel") {
    return Unsupported(file,
                       "pre_tokenizer \"" + (type.empty() ? p.dump() : type) + "\" is not supported (only ByteLevel)");
  }
  spec->add_prefix_space = p.value("add_prefix_space", true);
  spec->use_regex = p.value("use_regex", true);
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<const Tokenizer>> Tokenizer::LoadHf(const std::string& path) {
  std::string file = path;
  if (fs::is_directory(path)) file = (fs::path(path) / "tokenizer.json").string();
  if (!fs::exists(file)) {
    return Status::UserError(file +
                             ": no such file; give hf:PATH with PATH a tokenizer.json or a directory holding one");
  }
  Result<std::string> text = ReadFile(file);
  SATURN_RETURN_IF_ERROR(text.status());
  json j;
  try {
    j = json::parse(*text);
  } catch (const json::exception& e) {
    std::string at;
    const std::string why = JsonReason(e, *text, &at);
    return Status::UserError(file + (at.empty() ? "" : ":" + at) + ": not valid JSON (" + why + "); fix or replace the file");
  }
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object()) {
    return Status::UserError(file + ": no \"model\" object; this is not a Hugging Face tokenizer.json");
  }
  const json& model = j["model"];
  std::string model_type = TypeOf(model);
  if (!(model_type == "BPE" || (model_type.empty() && model.contains("merges")))) {
    return Unsupported(file, "model.type \"" + model_type + "\" is not BPE");
  }
  for (const char* off : {"continuing_subword_prefix", "end_of_word_suffix", "byte_fallback"}) {
    if (Truthy(model, off)) return Unsupported(file, std::string("model.") + off + " is set");
  }
  if (model.contains("dropout") && model["dropout"].is_number() && model["dropout"].get<double>() > 0) {
    return Unsupported(file, "model.dropout is set (randomized BPE)");
  }

  ByteLevelBpeSpec spec;
  spec.name = "hf:" + path;
  spec.space = SpaceFlavor::kWhiteSpace;
  spec.ignore_merges = model.value("ignore_merges", false);
  SATURN_RETURN_IF_ERROR(ReadNormalizer(file, j.value("normalizer", json()), &spec));
  if (!j.contains("pre_tokenizer") || j["pre_tokenizer"].is_null()) {
    return Unsupported(file, "pre_tokenizer is null (a byte-level BPE needs ByteLevel)");
  }
  SATURN_RETURN_IF_ERROR(ReadPreTokenizer(file, j["pre_tokenizer"], &spec));
  if (j.contains("decoder") && !j["decoder"].is_null() && TypeOf(j["decoder"]) != "ByteLevel") {
    return Unsupported(file, "decoder \"" + TypeOf(j["decoder"]) + "\" is not ByteLevel");
  }

  if (!model.contains("vocab") || !model["vocab"].is_object()) {
    return Status::UserError(file + ": model.vocab is missing or not an object of token: id; fix or replace the file");
  }
  std::vector<std::pair<std::string, int64_t>> vocab;
  for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) {
    if (!it.value().is_number_integer()) {
      return Status::UserError(file + ": model.vocab[\"" + it.key() +
                               "\"] is not an integer id; fix or replace the file");
    }
    vocab.emplace_back(it.key(), it.value().get<int64_t>());
  }
  if (!model.contains("merges") || !model["merges"].is_array()) {
    return Status::UserError(file + ": model.merges is missing or not an array; fix or replace the file");
  }
  std::vector<MergeLine> merges;
  const json& ms = model["merges"];
  for (size_t i = 0; i < ms.size(); ++i) {
    std::string where = file + ": model.merges[" + std::to_string(i) + "]";
    const json& m = ms[i];
    if (m.is_string()) {
      std::string s = m.get<std::string>();
      size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) {
        return Status::UserError(where + ": expected \"left right\"; fix or replace the file");
      }
      merges.push_back({s.substr(0, sp), s.substr(sp + 1), where});
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merges.push_back({m[0].get<std::string>(), m[1].get<std::string>(), where});
    } else {
      return Status::UserError(where + ": expected \"left right\" or [left, right]; fix or replace the file");
    }
  }
  SATURN_RETURN_IF_ERROR(FillVocab(file, vocab, merges, &spec));

  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (const json& t : j["added_tokens"]) {
      if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() || !t.contains("content") ||
          !t["content"].is_string()) {
        return Status::UserError(file +
                                 ": an added_tokens entry lacks an integer id or a string content; fix or "
                                 "replace the file");
      }
      int64_t id = t["id"].get<int64_t>();
      std::string content = t["content"].get<std::string>();
      if (id < 0 || id >= (1 << 24)) return Status::UserError(file + ": added token " + content + " has a bad id");
      if (static_cast<size_t>(id) >= spec.id_bytes.size()) spec.id_bytes.resize(id + 1);
      spec.id_bytes[id] = content;  // the tokenizers library decodes added tokens as their text
      if (content == "<|endoftext|>") spec.eot_id = static_cast<int32_t>(id);
      if (t.value("special", false)) continue;
      for (const char* flag : {"single_word", "lstrip", "rstrip"}) {
        if (t.value(flag, false)) return Unsupported(file, "added token \"" + content + "\" sets " + flag);
      }
      (t.value("normalized", true) ? spec.normalized_added : spec.raw_added).Add(content, static_cast<int32_t>(id));
    }
  }
  if (spec.eot_id < 0) {
    for (size_t i = 0; i < vocab.size(); ++i) {
      if (vocab[i].first == "<|endoftext|>") spec.eot_id = static_cast<int32_t>(vocab[i].second);
    }
  }
  if (spec.eot_id < 0) {
    return Status::UserError(file +
                             ": no <|endoftext|> token among added_tokens or model.vocab; Saturn needs it to "
                             "separate documents");
  }
  return MakeByteLevelBpe(std::move(spec));
}

}  // namespace saturn
