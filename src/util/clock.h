// Elapsed wall time for time limits and reports.
#pragma once

#include <chrono>
#include <string>

namespace saturn {

// Seconds on the steady clock since t0.
inline double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// When this process began, on the steady clock: a command's time limit covers loading the
// program too (libtorch's start-up alone is about 0.7 s here). Linux's /proc/self/stat gives the
// start to 10 ms; where it cannot be read, this is the first call's time.
std::chrono::steady_clock::time_point ProcessStart();

// A duration for people: "42.0 s", "12.5 min", "3.1 h".
std::string HumanSeconds(double s);

}  // namespace saturn
