// Progress of one training job on stderr: a live line rewritten in place on a terminal (step,
// loss, tokens/s, ETA), plain lines every log_every steps otherwise, nothing when quiet.
#pragma once

#include <chrono>
#include <string>

namespace saturn {

class Progress {
 public:
  Progress(std::string job, long long total_steps, int log_every, bool quiet);
  ~Progress();
  void update(long long step, double loss, double tokens_per_second, double lr);
  void note(const std::string& line);  // a plain line, keeping the live line intact
  void finish(long long step, double loss, double seconds);

 private:
  std::string job_;
  long long total_;
  int every_;
  bool quiet_, tty_, live_shown_ = false;
  std::chrono::steady_clock::time_point t0_, last_draw_;
  long long first_step_ = -1;
};

// "1h02m", "3m20s", "12s".
std::string FormatDuration(double seconds);

}  // namespace saturn
