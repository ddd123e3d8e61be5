// Core binding of CPU device slots (util/threads.h): which cores each slot's thread may run on.
// Each binding runs on a thread of its own, since affinity is per thread on Linux.
#include <sched.h>

#include <cstdlib>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "util/threads.h"

namespace {

std::vector<int> Allowed() {
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(sched_getaffinity(0, sizeof set, &set) == 0);
  std::vector<int> cores;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cores.push_back(c);
  return cores;
}

// The cores slot `slot` of `slots` binds to, and the count BindToSlotCores returned.
std::pair<std::vector<int>, int> BoundOnThread(int slot, int slots) {
  std::vector<int> got;
  int count = -1;
  std::thread t([&] {
    saturn::Result<int> c = saturn::BindToSlotCores(slot, slots);
    if (c.ok()) count = *c;
    got = Allowed();
  });
  t.join();
  return {got, count};
}

}  // namespace

TEST_CASE("CPU device slots: each takes its share of the cores or one core round robin when slots outnumber them",
          "[cores]") {
  const std::vector<int> all = Allowed();
  const int n = int(all.size());
  CHECK(saturn::AllowedCores() == n);
  ::unsetenv("SLURM_CPUS_PER_TASK");
  // As many slots as cores: one core each, in order.
  for (int s = 0; s < n; ++s) {
    auto [cores, count] = BoundOnThread(s, n);
    CHECK(count == 1);
    CHECK(cores == std::vector<int>{all[size_t(s)]});
  }
  ::unsetenv("SATURN_CPUS_BOUND");
  // One slot: every core.
  auto [whole, count] = BoundOnThread(0, 1);
  CHECK(whole == all);
  CHECK(count == n);
  // Twice as many slots as cores: slot s on core s mod n.
  for (int s = 0; s < 2 * n; ++s) CHECK(BoundOnThread(s, 2 * n).first == std::vector<int>{all[size_t(s % n)]});
  // The binding stayed on its thread.
  CHECK(Allowed() == all);
}

TEST_CASE("a task of saturn's srun step that Slurm bound to its own CPUs keeps them", "[cores]") {
  const std::vector<int> all = Allowed();
  const int n = int(all.size());
  if (n < 2) {
    WARN("one core here: nothing to tell apart");
    return;
  }
  ::setenv("SLURM_CPUS_PER_TASK", std::to_string(n).c_str(), 1);
  // Without saturn's word (SLURM_ variables a process inherited from an outer step, say): split.
  CHECK(BoundOnThread(1, 2).first.size() == size_t(n / 2));
  ::setenv("SATURN_CPUS_BOUND", "1", 1);
  auto [kept, count] = BoundOnThread(1, 2);
  CHECK(kept == all);  // not halved again
  CHECK(count == n);
  // A task allowed more CPUs than it was given (Slurm did not bind it): its slot's share as usual.
  ::setenv("SLURM_CPUS_PER_TASK", "1", 1);
  CHECK(BoundOnThread(1, n).first == std::vector<int>{all[1]});
  ::unsetenv("SLURM_CPUS_PER_TASK");
  ::unsetenv("SATURN_CPUS_BOUND");
}
