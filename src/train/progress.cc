#include "train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace saturn {

std::string FormatDuration(double s) {
  char buf[32];
  if (!std::isfinite(s) || s < 0) return "?";
  long long t = std::llround(s);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%lldh%02lldm", t / 3600, t % 3600 / 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%lldm%02llds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%llds", t);
  return buf;
}

Progress::Progress(std::string job, long long total_steps, int log_every, bool quiet)
    : job_(std::move(job)), total_(total_steps), every_(log_every), quiet_(quiet), tty_(::isatty(2) == 1),
      t0_(std::chrono::steady_clock::now()), last_draw_(t0_) {}

Progress::~Progress() {
  if (live_shown_) std::fputc('\n', stderr);
}

void Progress::update(long long step, double loss, double tokens_per_second, double lr) {
  if (quiet_) return;
  auto now = std::chrono::steady_clock::now();
  if (first_step_ < 0) first_step_ = step - 1;
  const double elapsed = std::chrono::duration<double>(now - t0_).count();
  const double per_step = elapsed / double(std::max(1LL, step - first_step_));
  const double eta = per_step * double(total_ - step);
  char line[256];
  std::snprintf(line, sizeof line, "%s: step %lld/%lld  loss %.4f  lr %.2e  %.0f tok/s  ETA %s", job_.c_str(), step,
                total_, loss, lr, tokens_per_second, FormatDuration(eta).c_str());
  if (tty_) {
    // Redraw at most 10 times a second: a terminal is slow next to a tiny model's steps.
    if (step != total_ && std::chrono::duration<double>(now - last_draw_).count() < 0.1) return;
    last_draw_ = now;
    std::fprintf(stderr, "\r\033[K%s", line);
    live_shown_ = true;
  } else if (step % every_ == 0 || step == total_) {
    std::fprintf(stderr, "%s\n", line);
  }
  std::fflush(stderr);
}

void Progress::note(const std::string& text) {
  if (quiet_) return;
  if (live_shown_) std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "%s\n", text.c_str());
  live_shown_ = false;
  std::fflush(stderr);
}

void Progress::finish(long long step, double loss, double seconds) {
  if (quiet_) return;
  char line[256];
  std::snprintf(line, sizeof line, "%s: done, %lld steps, final loss %.4f, %s", job_.c_str(), step, loss,
                FormatDuration(seconds).c_str());
  note(line);
}

}  // namespace saturn
