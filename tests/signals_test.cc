// Stop signals (util/signals.h), in a child process each, since the handlers are process-wide
// and an insisting signal ends the process: the first signal is only recorded; a repeat within
// a second, or any SIGUSR1, is not fatal; a SIGINT or SIGTERM a second or more after the first
// ends the process by that signal (so a shell sees 128 + it).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include "util/signals.h"

namespace {

// Runs `body` in a child; returns its wait status.
template <class F>
int InChild(F body) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) _exit(body());
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return status;
}

void Pause(double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); }

}  // namespace

TEST_CASE("stop signals: the first is recorded and a quick repeat or SIGUSR1 is not fatal but an insisting one ends "
          "the process",
          "[signals]") {
  for (int sig : {SIGINT, SIGTERM}) {
    INFO(saturn::SignalName(sig));
    // First, then again at once (Slurm and the orchestrator signalling the same ranks), then
    // SIGUSR1 well after: the process goes on, knowing the first.
    int status = InChild([sig] {
      saturn::CatchStopSignals();
      if (saturn::StopSignal() != 0) return 10;
      raise(sig);
      if (saturn::StopSignal() != sig) return 11;
      raise(sig);
      Pause(1.2);
      raise(SIGUSR1);
      return saturn::StopSignal() == sig ? 0 : 12;
    });
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    // A person insisting: the same signal a second or more later ends it by that signal.
    status = InChild([sig] {
      saturn::CatchStopSignals();
      raise(sig);
      Pause(1.2);
      raise(sig);
      return 20;  // not reached
    });
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == sig);
  }
  // SIGUSR1 first (sbatch --signal=USR1@120, or the orchestrator): recorded; a later SIGTERM
  // insists.
  const int status = InChild([] {
    saturn::CatchStopSignals();
    raise(SIGUSR1);
    if (saturn::StopSignal() != SIGUSR1) return 30;
    Pause(1.2);
    raise(SIGTERM);
    return 31;
  });
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGTERM);
}
