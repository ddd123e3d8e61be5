// The sweep YAML (src/config/sweep.cc): any bytes give a sweep or a user error naming the file.
#include "config/sweep.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  saturn::Result<saturn::Sweep> s = saturn::ParseSweep(text, "fuzz.yaml");
  saturn::fuzz::CheckUserError(s.status(), "fuzz.yaml");
  return 0;
}
