#include "util/signals.h"

#include <signal.h>

#include <time.h>

#include <atomic>

namespace saturn {
namespace {

std::atomic<int> received{0};
std::atomic<long long> first_ns{0};

long long NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);  // async-signal-safe
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void OnSignal(int sig) {
  const long long now = NowNs();
  int none = 0;
  if (received.compare_exchange_strong(none, sig)) {
    first_ns.store(now);
    return;
  }
  // A repeat ends the process only when it is a person insisting: SIGINT or SIGTERM a second or
  // more after the first. Slurm signals every task and the orchestrator passes SIGUSR1 on to the
  // same ranks at about the same time; those must still reach the checkpoint.
  if (sig == SIGUSR1 || now - first_ns.load() < 1000000000LL) return;
  signal(sig, SIG_DFL);
  raise(sig);
}

}  // namespace

void CatchStopSignals() {
  static const bool installed = [] {
    struct sigaction sa {};
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGUSR1, &sa, nullptr);
    return true;
  }();
  (void)installed;
}

int StopSignal() { return received.load(); }

const char* SignalName(int sig) {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    default: return "a signal";
  }
}

}  // namespace saturn
