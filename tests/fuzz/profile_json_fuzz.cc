// The profile JSON (src/profile/profile.cc).
#include "fuzz_util.h"
#include "profile/profile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  saturn::Result<saturn::Profile> p = saturn::ParseProfile(text, "fuzz-profile.json");
  saturn::fuzz::CheckUserError(p.status(), "fuzz-profile.json");
  return 0;
}
