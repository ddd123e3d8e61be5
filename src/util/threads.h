// Thread counts a user asks for (--threads).
#pragma once

#include "util/status.h"

namespace saturn {

// 0 (the default) or 1 .. 4 x this machine's cores; more would only make threads fight for
// cores (and a typo such as 100000 would stall the machine creating them).
Status CheckThreadCount(int threads);

}  // namespace saturn
