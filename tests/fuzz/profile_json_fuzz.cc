// The profile JSON (src/profile/profile.cc): a parse succeeds or is a user error naming the file,
// and what parses survives writing and reading again (version 2 provenance included).
#include "fuzz_util.h"
#include "profile/profile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  saturn::Result<saturn::Profile> p = saturn::ParseProfile(text, "fuzz-profile.json");
  saturn::fuzz::CheckUserError(p.status(), "fuzz-profile.json");
  if (!p.ok()) return 0;
  const std::string written = saturn::ProfileToJson(*p);
  saturn::Result<saturn::Profile> again = saturn::ParseProfile(written, "rewritten.json");
  if (!again.ok()) saturn::fuzz::Fail("a profile it wrote does not read back: " + again.status().message());
  if (saturn::ProfileToJson(*again) != written) saturn::fuzz::Fail("writing is not stable:\n" + written);
  if (again->records.size() != p->records.size()) saturn::fuzz::Fail("records lost when written");
  return 0;
}
