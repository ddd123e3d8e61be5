// Byte-level BPE tokenizers: GPT-2's (encoder.json + vocab.bpe, or vocab.json + merges.txt) and
// the BPE model of a Hugging Face tokenizer.json (GPT-NeoX, Pythia).
//
// Contract: Encode takes arbitrary bytes (invalid UTF-8 included) and Decode(Encode(x)) == x.
// On valid UTF-8, GPT-2 encodings equal those of OpenAI's encoder (npm gpt-3-encoder) exactly.
// Special tokens (<|endoftext|>) are never produced by Encode from text; use eot_id().
// A tokenizer.json's normalizer applies first, so there Decode(Encode(x)) == NFC(x) for GPT-NeoX;
// and a byte that never occurs in UTF-8 and has no token in the vocabulary (GPT-NeoX lacks C0,
// C1, F5-FF) encodes as U+FFFD. Encode is thread-safe (its word cache is per thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace saturn {

class Tokenizer {
 public:
  // `spec` as a sweep gives it: "gpt2" (the GPT-2 files found by FindGpt2Dir), "gpt2:DIR"
  // (a directory with encoder.json + vocab.bpe or vocab.json + merges.txt), or "hf:PATH"
  // (a tokenizer.json, or a directory holding one).
  static Result<std::shared_ptr<const Tokenizer>> Load(const std::string& spec);
  static Result<std::shared_ptr<const Tokenizer>> LoadGpt2(const std::string& dir);
  static Result<std::shared_ptr<const Tokenizer>> LoadHf(const std::string& path);

  virtual ~Tokenizer() = default;
  virtual std::vector<int32_t> Encode(std::string_view bytes) const = 0;
  virtual std::string Decode(const std::vector<int32_t>& ids) const = 0;
  virtual int vocab_size() const = 0;    // ids are in [0, vocab_size)
  virtual int eot_id() const = 0;        // <|endoftext|>
  virtual std::string name() const = 0;  // for logs and the token-file header
};

// Where the "gpt2" tokenizer lives: $SATURN_GPT2_DIR, else third_party/tokenizers/gpt2 in the
// source tree (scripts/setup.sh puts it there), else ../shared/data/tokenizers/gpt2 beside the
// checkout. A user error saying how to get the files when none has them.
Result<std::string> FindGpt2Dir();

// The files a tokenizer spec reads (GPT-2's encoder.json + vocab.bpe or vocab.json + merges.txt;
// a tokenizer.json), so that a trained model's directory can carry them as a Hugging Face model
// directory does.
Result<std::vector<std::string>> TokenizerFiles(const std::string& spec);

}  // namespace saturn
