#include "util/clock.h"

#include <catch2/catch.hpp>

#include <thread>

TEST_CASE("ProcessStart is when the process began, not when it was first asked", "[clock]") {
  // Nothing in this binary asks earlier, so without /proc's answer the start would fall back to
  // the call below, after the sleep, and the age would be near 0.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const double age = saturn::SecondsSince(saturn::ProcessStart());
  CHECK(age >= 0.04);  // /proc's ticks are 10 ms
  CHECK(saturn::ProcessStart() == saturn::ProcessStart());  // one answer for the whole process
}
