#include "cli/torch_errors.h"

#include <c10/util/Exception.h>

namespace saturn {

Status CatchTorchErrors(const std::function<Status()>& work, const std::string& hint) {
  try {
    return work();
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    const bool memory = what.find("out of memory") != std::string::npos ||
                        what.find("DefaultCPUAllocator: can't allocate") != std::string::npos;
    return Status::Internal("LibTorch: " + what + (memory ? " (out of memory: " + hint + ")" : ""));
  }
}

}  // namespace saturn
