// In-process process groups: rank r is whichever thread holds group r. Unit tests run a
// technique's ranks as threads of one process with these; a process training alone uses the
// group of one. Reductions add in rank order, so results are bitwise reproducible.
#pragma once

#include <memory>
#include <vector>

#include "comm/process_group.h"

namespace saturn {

// n groups sharing one hub; hand group r to the thread playing rank r. A rank that waits more
// than timeout_seconds for the others gets an error from Wait() instead of hanging (a test whose
// ranks diverged fails rather than stalls).
std::vector<std::shared_ptr<ProcessGroup>> MakeThreadGroups(int n, double timeout_seconds = 300);

}  // namespace saturn
