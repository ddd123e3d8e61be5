// TASKS.yaml for `saturn eval` (src/config/tasks_file.cc).
#include "config/tasks_file.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  saturn::Result<saturn::TasksFile> f = saturn::ParseTasksFile(text, "dir/TASKS.yaml");
  saturn::fuzz::CheckUserError(f.status(), "dir/TASKS.yaml");
  return 0;
}
