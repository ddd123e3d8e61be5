#include "util/signals.h"

#include <signal.h>

#include <atomic>

namespace saturn {
namespace {

std::atomic<int> received{0};

void OnSignal(int sig) {
  int none = 0;
  if (!received.compare_exchange_strong(none, sig)) {
    // The second signal: the default action (the process ends now).
    signal(sig, SIG_DFL);
    raise(sig);
  }
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
