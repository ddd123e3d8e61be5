// A Hugging Face tokenizer.json (src/data/hf_tokenizer_json.cc). A tokenizer that loads must
// encode and decode a fixed text without crashing, and every id it gives is in its vocabulary.
#include "data/tokenizer.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = saturn::fuzz::WriteInput(data, size, "-tokenizer.json");
  auto t = saturn::Tokenizer::LoadHf(path);
  saturn::fuzz::CheckUserError(t.status(), path);
  if (!t.ok()) return 0;
  const std::vector<int32_t> ids = (*t)->Encode("Hello world! It's 2026, caf\xc3\xa9 \xe4\xb8\xad  \n\tend");
  for (int32_t id : ids)
    if (id < 0 || id >= (*t)->vocab_size()) saturn::fuzz::Fail("id " + std::to_string(id) + " outside the vocabulary");
  (*t)->Decode(ids);
  return 0;
}
