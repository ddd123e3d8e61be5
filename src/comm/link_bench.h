// Measuring the links between a group's ranks, the way nccl-tests does: for each collective and
// size, one checked operation (the result compared with what it must be), then warm-up and timed
// iterations; the time of an operation is the slowest rank's mean. Bandwidths follow nccl-tests:
// algbw = bytes / seconds, and busbw scales it to what each link carried (all-reduce
// 2(n-1)/n, all-gather and reduce-scatter (n-1)/n, send/recv 1), so it compares with the link's
// peak whatever the rank count.
#pragma once

#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "comm/process_group.h"
#include "util/status.h"

namespace saturn {

struct LinkSample {
  std::string collective;  // all_reduce | all_gather | reduce_scatter | send_recv
  int ranks = 0;
  long long bytes = 0;     // nccl-tests' size: the whole buffer (all-gather's output, reduce-scatter's input)
  double seconds = 0;      // per operation
  double algbw = 0;        // bytes / second
  double busbw = 0;
};

struct LinkBenchOptions {
  long long min_bytes = 4 << 10;
  long long max_bytes = 256 << 20;  // sizes go min, 4 x min, ... up to max (max itself included)
  int warmup = 2;
  int iters = 5;
};

const std::vector<std::string>& LinkCollectives();

// Collective over `group` (at least 2 ranks), float32 buffers on `device`. A wrong result is an
// internal error naming the collective, size and rank; the same samples on every rank.
Result<std::vector<LinkSample>> MeasureLinks(ProcessGroup& group, c10::Device device, const LinkBenchOptions& opt);

}  // namespace saturn
