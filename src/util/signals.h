// Stopping cleanly on SIGINT (Ctrl-C), SIGTERM (Slurm's time limit, scancel, preemption) and
// SIGUSR1 (what `sbatch --signal=USR1@120` sends ahead of the time limit, and what the plan
// orchestrator sends its jobs: mpirun and srun pass SIGUSR1 on to every rank, where SIGTERM
// makes them end the ranks themselves): the first signal only sets a flag that long-running
// work polls at a safe point (the trainer: the next step boundary, where it writes a
// checkpoint); a SIGINT or SIGTERM a second or more after the first stops the process at once
// (SIGUSR1, or a signal right after the first, never does: several senders may signal together).
#pragma once

namespace saturn {

// Installs the handlers (once; later calls do nothing).
void CatchStopSignals();
// The signal number received first, or 0.
int StopSignal();
// "SIGINT", "SIGTERM", ...
const char* SignalName(int sig);

}  // namespace saturn
