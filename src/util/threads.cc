#include "util/threads.h"

#include <sched.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>
#include <thread>

namespace saturn {

Status CheckThreadCount(int threads) {
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  if (threads < 0 || threads > 4 * cores)
    return Status::UserError("--threads " + std::to_string(threads) + ": expected 0 (the default) or 1 to " +
                             std::to_string(4 * cores) + " (4 x this machine's " + std::to_string(cores) + " cores)");
  return Status::Ok();
}

Result<int> BindToSlotCores(int slot, int slots) {
  assert(slot >= 0 && slot < slots);
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
    return Status::Internal(std::string("sched_getaffinity: ") + std::strerror(errno));
  std::vector<int> cores;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &allowed)) cores.push_back(c);
  if (cores.empty()) return Status::Internal("sched_getaffinity: no core allowed");
  const int n = int(cores.size());
  // A Slurm task that saturn's srun step gave CPUs of its own (launch/launcher.h Environment), and
  // that Slurm bound to them (task/affinity or cgroups: no more than SLURM_CPUS_PER_TASK allowed),
  // already has its slot's share: splitting it again would idle the rest.
  const char* bound = std::getenv("SATURN_CPUS_BOUND");
  const char* per_task = std::getenv("SLURM_CPUS_PER_TASK");
  if (bound && std::string(bound) == "1" && per_task && std::atoi(per_task) > 0 && n <= std::atoi(per_task)) return n;
  cpu_set_t mine;
  CPU_ZERO(&mine);
  int count = 0;
  if (n >= slots) {
    for (int i = slot * n / slots; i < (slot + 1) * n / slots; ++i) CPU_SET(cores[i], &mine), ++count;
  } else {
    CPU_SET(cores[slot % n], &mine), count = 1;
  }
  if (sched_setaffinity(0, sizeof mine, &mine) != 0)
    return Status::Internal(std::string("sched_setaffinity: ") + std::strerror(errno));
  return count;
}

int AllowedCores() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return int(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, CPU_COUNT(&allowed));
}

std::string CpuModelName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const size_t first = line.find_first_not_of(" \t", colon + 1);
    return first == std::string::npos ? "" : line.substr(first);
  }
  return "";
}

}  // namespace saturn
