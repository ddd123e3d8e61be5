// The orchestrator's job lines (run/live_status.h): what a line says as a job's metrics grow.
#include <catch2/catch.hpp>

#include "run/live_status.h"
#include "util/clock.h"

using saturn::JobStatusLine;
using saturn::LastMetrics;

TEST_CASE("a running job's line: starting, then step, loss, tokens/s, and an ETA from the rate past the first step",
          "[status]") {
  LastMetrics m;
  CHECK(JobStatusLine("a", "fsdp x2 on n:0,1", 40, m) == "a: fsdp x2 on n:0,1, starting");
  m.step = 1, m.loss = 9.5, m.seconds = 5.0, m.tokens_per_second = 100.0;
  m.first_step = 1, m.first_seconds = 5.0;
  // One logged step: no rate yet (the first step's time is mostly warm-up).
  CHECK(JobStatusLine("a", "fsdp x2 on n:0,1", 40, m) == "a: fsdp x2 on n:0,1, step 1/40, loss 9.5000, 100 tok/s");
  CHECK(saturn::SecondsPerStep(m) == 0);
  m.step = 11, m.seconds = 25.0, m.loss = 4.25;
  // 2 s a step since step 1: 29 steps left take 58 s.
  CHECK(JobStatusLine("a", "fsdp x2 on n:0,1", 40, m) ==
        "a: fsdp x2 on n:0,1, step 11/40, loss 4.2500, 100 tok/s, ETA " + saturn::HumanSeconds(58));
  // `saturn status` and the re-planner take the same rate (report.json seconds_per_step).
  CHECK(saturn::SecondsPerStep(m) == Approx(2.0));
  m.first_step = nullptr;  // a line without its fields: no rate rather than a wrong one
  CHECK(saturn::SecondsPerStep(m) == 0);
}
