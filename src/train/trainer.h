// Trains one job of a sweep on one device, in <output_dir>/<job>/ (layout: docs/run.md):
// metrics.jsonl, checkpoints/step-N/, final/. Resuming from a checkpoint continues exactly:
// the losses that follow equal, bit for bit on the same machine and thread count, those of a
// run that was never interrupted.
#pragma once

#include <string>

#include "config/sweep.h"
#include "util/status.h"

namespace saturn {

struct RunOptions {
  std::string device = "cpu";  // cpu | cuda
  int threads = 0;             // 0: every core
  bool quiet = false;
  bool resume = false;   // continue from the job's newest checkpoint
  bool restart = false;  // delete what an earlier run left and start over
};

// The job's directory: <sweep output_dir>/<job name>.
std::string JobDir(const Sweep& sweep, const JobSpec& job);

Status TrainJob(const Sweep& sweep, const JobSpec& job, const RunOptions& opt);

}  // namespace saturn
