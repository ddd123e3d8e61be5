#include "util/clock.h"

#include <cstdio>

namespace saturn {

std::string HumanSeconds(double s) {
  char buf[32];
  if (s < 90) std::snprintf(buf, sizeof buf, "%.1f s", s);
  else if (s < 5400) std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
  else std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  return buf;
}

}  // namespace saturn
