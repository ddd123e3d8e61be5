// `saturn status SWEEP.yaml | RUN_DIR`: where an executed plan stands, from its journal alone:
// every job's state (waiting, running on which devices, finished, failed with the last lines of
// its log, interrupted), progress and ETA, planned and actual times, and the makespan so far
// against the plan. "running" needs the orchestrator alive (it holds the sweep's lock);
// otherwise a started, unfinished job is "interrupted". Never reports a failed job as finished.
#pragma once

#include <string>

#include "util/status.h"

namespace saturn {

struct SweepStatus {
  std::string text;  // the table and summary to print
  // 0: every job finished; 1: some job failed; 3: not finished yet (running, waiting, interrupted).
  int exit_code = 0;
};

Result<SweepStatus> GetSweepStatus(const std::string& sweep_or_dir);

}  // namespace saturn
