// File helpers. Outputs are written to a temporary file beside the target and renamed, so a
// reader (or a crash) never sees a half-written file.
#pragma once

#include <string>

#include "util/status.h"

namespace saturn {

Status WriteFileAtomic(const std::string& path, const std::string& contents);
Result<std::string> ReadFile(const std::string& path);

}  // namespace saturn
