// The GPT-2 byte-level BPE on arbitrary bytes (src/data/bpe.cc, pretokenize.cc): Decode(Encode(x))
// is x, byte for byte, and every id is a text token (never <|endoftext|>). Needs the GPT-2 files
// (SATURN_GPT2_DIR, third_party/tokenizers/gpt2 or ../shared/data).
#include "data/tokenizer.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::shared_ptr<const saturn::Tokenizer> tok = [] {
    auto t = saturn::Tokenizer::Load("gpt2");
    if (!t.ok()) saturn::fuzz::Fail("no GPT-2 tokenizer: " + t.status().message());
    return *t;
  }();
  const std::string x(reinterpret_cast<const char*>(data), size);
  const std::vector<int32_t> ids = tok->Encode(x);
  for (int32_t id : ids)
    if (id < 0 || id >= tok->eot_id()) saturn::fuzz::Fail("id " + std::to_string(id) + " is not a text token");
  if (tok->Decode(ids) != x) saturn::fuzz::Fail("Decode(Encode(x)) != x");
  return 0;
}
