// Child processes that a long-running command starts, watches and may have to stop: the
// profiler's trials (mpirun and its ranks), later the orchestrator's jobs. Each child leads its
// own process group, so stopping it stops everything it started (mpirun's ranks included).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "util/status.h"

namespace saturn {

class Subprocess {
 public:
  // Starts argv[0] (looked up on PATH) with stdout and stderr appended to `log_path` (empty: this
  // process's own stdout and stderr). A command
  // that cannot start is a user error naming it. The child gets `death_signal` when this process
  // dies (SIGTERM: mpirun and srun stop their ranks; SIGUSR1: saturn's trainers checkpoint first).
  // `env` ("NAME=VALUE") is added to this process's environment for the child, replacing a
  // variable of the same name.
  static Result<Subprocess> Start(const std::vector<std::string>& argv, const std::string& log_path,
                                  int death_signal = 15 /* SIGTERM */, const std::vector<std::string>& env = {});

  Subprocess() = default;  // no child: exited() is false, Poll() true
  Subprocess(Subprocess&& o) noexcept { *this = std::move(o); }
  Subprocess& operator=(Subprocess&& o) noexcept;
  ~Subprocess();  // stops a child still running (SIGKILL to its group) and reaps it
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // True once the child has exited; never blocks.
  bool Poll();
  // SIGTERM to the child's group, then SIGKILL after `grace_seconds` if it is still there; waits.
  void Stop(double grace_seconds);
  // SIGTERM to the child's group without waiting (Stop several at once: Terminate each, then Stop).
  void Terminate();
  // `sig` to the child alone (a launcher passes it on to its ranks), without waiting.
  void Signal(int sig);
  bool exited() const { return done_; }
  // After exit: the exit code, or 128 + the signal that ended it.
  int exit_code() const { return code_; }
  int signal() const { return signal_; }  // 0 when it exited by itself
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  bool done_ = false;
  int code_ = 0;
  int signal_ = 0;
};

// The command line as a shell would show it (arguments with spaces or quotes quoted).
std::string ShellLine(const std::vector<std::string>& argv);
// Splits a command such as "mpirun --oversubscribe" at white space (no quoting rules).
std::vector<std::string> SplitWords(const std::string& s);

}  // namespace saturn
