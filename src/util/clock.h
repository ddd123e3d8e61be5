// Elapsed wall time for time limits and reports.
#pragma once

#include <chrono>
#include <string>

namespace saturn {

// Seconds on the steady clock since t0.
inline double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A duration for people: "42.0 s", "12.5 min", "3.1 h".
std::string HumanSeconds(double s);

}  // namespace saturn
