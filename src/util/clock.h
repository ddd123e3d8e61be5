// Elapsed wall time for time limits and reports.
#pragma once

#include <chrono>

namespace saturn {

// Seconds on the steady clock since t0.
inline double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace saturn
