// A model's config.json (src/model/config.cc): Hugging Face GPT-2, GPT-NeoX and Llama layouts.
#include "fuzz_util.h"
#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  saturn::Result<saturn::ModelConfig> c = saturn::ParseModelConfig(text, "fuzz/config.json");
  saturn::fuzz::CheckUserError(c.status(), "fuzz/config.json");
  return 0;
}
