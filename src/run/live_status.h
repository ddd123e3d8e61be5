// What the orchestrator shows people while jobs run: its event lines ("run: started a ..."), and
// a line per running job (step, loss, tokens/s, ETA). On a terminal the job lines are a block
// redrawn in place below the events; elsewhere (a log file, CI) they are plain lines printed
// every `plain_every` seconds, so logs stay readable.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "run/metrics.h"

namespace saturn {

class LiveStatus {
 public:
  // `quiet`: nothing at all. `tty`: redraw in place (stdout is a terminal).
  LiveStatus(bool quiet, bool tty, double plain_every) : quiet_(quiet), tty_(tty), plain_every_(plain_every) {}

  // An event line, printed above the job lines.
  void Say(const std::string& line);
  // Whether Update would show lines now (a terminal, or plain lines due): the caller builds them
  // only then.
  bool Due() const;
  // The running jobs' lines as they are now: redrawn on a terminal, printed when due otherwise.
  void Update(const std::vector<std::string>& lines);
  // Removes the job lines (before the orchestrator's last words).
  void Clear();

 private:
  void Erase();
  void Draw();

  bool quiet_, tty_;
  double plain_every_;
  std::vector<std::string> lines_;
  int shown_ = 0;  // job lines on the terminal below the cursor's line
  std::chrono::steady_clock::time_point last_plain_ = std::chrono::steady_clock::now();
};

// "a: fsdp x2 on n:0,1, step 12/40, loss 5.1234, 820 tok/s, ETA 31s" (what is known so far).
std::string JobStatusLine(const std::string& job, const std::string& how, long long steps, const LastMetrics& m);

}  // namespace saturn
