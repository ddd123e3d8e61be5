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
// A directory, or a file that cannot be opened, is a user error that says which.
Result<std::string> ReadFile(const std::string& path);

// Before the work starts: that `path` can be written as an output (not a directory, its folder
// creatable, a file creatable there), so a long run does not end failing to write its result.
Status CheckWritable(const std::string& path, const std::string& what);
// Whether two paths name the same file (existing or not: compared after resolving links and
// "..", and by inode when both exist).
bool SameFile(const std::string& a, const std::string& b);

}  // namespace saturn
