// The plan JSON that `saturn plan` writes and `--simulate` and `run --plan` read (src/plan/plan_io.cc).
#include "fuzz_util.h"
#include "plan/plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  saturn::Result<saturn::Plan> p = saturn::ParsePlan(text, "fuzz-plan.json");
  saturn::fuzz::CheckUserError(p.status(), "fuzz-plan.json");
  return 0;
}
