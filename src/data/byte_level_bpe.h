// The one Tokenizer implementation: byte-level BPE with GPT-2's pre-tokenizer, plus what a
// Hugging Face tokenizer.json may add around it (NFC, added tokens, a prefix space).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "data/added_tokens.h"
#include "data/bpe.h"
#include "data/tokenizer.h"
#include "data/unicode.h"

namespace saturn {

struct ByteLevelBpeSpec {
  std::string name;
  std::vector<std::string> id_bytes;  // what each id decodes to; index = id
  BpeMerges merges;                   // byte ids and merges, Finish() called
  int32_t eot_id = -1;
  bool unknown_bytes[256] = {};  // bytes without a token (never in UTF-8): encoded as U+FFFD
  SpaceFlavor space = SpaceFlavor::kJavaScript;
  bool nfc = false;                                    // normalize with NFC before pre-tokenizing
  bool add_prefix_space = false;                       // ByteLevel: prepend " " to a piece that lacks one
  bool use_regex = true;                               // ByteLevel: split with GPT-2's regex (else one word a piece)
  bool ignore_merges = false;                          // a word that is a vocabulary entry is taken whole
  std::vector<std::pair<std::string, int32_t>> vocab;  // for ignore_merges only
  AddedTokenMatcher raw_added;                         // non-special, normalized: false (matched before NFC)
  AddedTokenMatcher normalized_added;                  // non-special, normalized: true (matched after NFC)
};

std::shared_ptr<const Tokenizer> MakeByteLevelBpe(ByteLevelBpeSpec spec);

// Tokenizer::LoadGpt2 with the name() to report ("gpt2" when found by FindGpt2Dir).
Result<std::shared_ptr<const Tokenizer>> LoadGpt2Named(const std::string& dir, const std::string& name);

}  // namespace saturn
