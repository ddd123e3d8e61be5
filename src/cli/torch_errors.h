// LibTorch reports failures by throwing c10::Error (out of memory, a shape it cannot take).
// Commands that run LibTorch call their work through this, at the command boundary, so the
// failure reaches main as a Status (exit code 1) with a hint of what to lower.
#pragma once

#include <functional>
#include <string>

#include "util/status.h"

namespace saturn {

Status CatchTorchErrors(const std::function<Status()>& work, const std::string& hint);

}  // namespace saturn
