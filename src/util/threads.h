// Thread counts a user asks for (--threads).
#pragma once

#include "util/status.h"

namespace saturn {

// 0 (the default) or 1 .. 4 x this machine's cores; more would only make threads fight for
// cores (and a typo such as 100000 would stall the machine creating them).
Status CheckThreadCount(int threads);

// Binds the calling thread (and the threads it starts later, such as LibTorch's pool) to the
// cores of device slot `slot` of `slots` on a CPU node: the cores it may run on (its affinity
// when it started) split evenly, slot s taking the s-th share, or one core each, round robin,
// when there are more slots than cores. A task of saturn's srun step (SATURN_CPUS_BOUND=1) that
// Slurm bound to at most its SLURM_CPUS_PER_TASK CPUs keeps them. Returns how many cores it got (the thread count that
// fills them). A slot outside [0, slots) is an invariant violation.
Result<int> BindToSlotCores(int slot, int slots);

// The cores this process may run on (its affinity), which BindToSlotCores shares out.
int AllowedCores();

// The CPU's model as /proc/cpuinfo names it ("model name"); "" when it does not.
std::string CpuModelName();

}  // namespace saturn
