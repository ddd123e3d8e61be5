// File helpers. Outputs are written to a temporary file beside the target and renamed, so a
// reader (or a crash) never sees a half-written file.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

#include "util/status.h"

namespace saturn {

Status WriteFileAtomic(const std::string& path, const std::string& contents);
// The same for contents too large to build in memory: `write` streams them into the temporary
// file and returns false if a write failed.
Status WriteFileAtomicWith(const std::string& path, const std::function<bool(FILE*)>& write);
Result<std::string> ReadFile(const std::string& path);

}  // namespace saturn
