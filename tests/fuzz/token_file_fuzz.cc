// Token files (src/data/token_file.cc): a file that opens has its tokens inside the vocabulary.
#include "data/token_file.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = saturn::fuzz::WriteInput(data, size, ".tok");
  auto f = saturn::TokenFile::Open(path);
  saturn::fuzz::CheckUserError(f.status(), path);
  if (!f.ok()) return 0;
  for (uint64_t i = 0; i < (*f)->size(); ++i)
    if ((*f)->at(i) >= (*f)->header().vocab_size) saturn::fuzz::Fail("token outside the vocabulary was accepted");
  return 0;
}
