#include "util/clock.h"

#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace saturn {

namespace {

// Seconds since this process started, or -1 where /proc cannot say.
double ProcessAgeSeconds() {
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i)  // field 22: the start time, in clock ticks after boot
    if (!(fields >> field)) return -1;
  char* end = nullptr;
  const double start_ticks = std::strtod(field.c_str(), &end);
  timespec now{};
  const long ticks = sysconf(_SC_CLK_TCK);
  if (end == field.c_str() || ticks <= 0 || clock_gettime(CLOCK_BOOTTIME, &now) != 0) return -1;
  return double(now.tv_sec) + 1e-9 * double(now.tv_nsec) - start_ticks / double(ticks);
}

}  // namespace

std::chrono::steady_clock::time_point ProcessStart() {
  static const std::chrono::steady_clock::time_point start = [] {
    const auto now = std::chrono::steady_clock::now();
    const double age = ProcessAgeSeconds();
    // /proc's start time and CLOCK_BOOTTIME share their origin, in a time namespace too.
    if (!(age >= 0)) return now;
    return now - std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(age));
  }();
  return start;
}

std::string HumanSeconds(double s) {
  char buf[32];
  if (s < 90) std::snprintf(buf, sizeof buf, "%.1f s", s);
  else if (s < 5400) std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
  else std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  return buf;
}

}  // namespace saturn
