// Stopping cleanly on SIGINT (Ctrl-C) and SIGTERM (Slurm's time limit, scancel, preemption): the
// first signal only sets a flag that long-running work polls at a safe point (the trainer: the
// next step boundary, where it writes a checkpoint); a second one stops the process at once.
#pragma once

namespace saturn {

// Installs the handlers (once; later calls do nothing).
void CatchStopSignals();
// The signal number received first, or 0.
int StopSignal();
// "SIGINT", "SIGTERM", ...
const char* SignalName(int sig);

}  // namespace saturn
