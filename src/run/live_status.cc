#include "run/live_status.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "util/clock.h"

namespace saturn {

void LiveStatus::Say(const std::string& line) {
  if (quiet_) return;
  Erase();
  std::printf("run: %s\n", line.c_str());
  Draw();
  std::fflush(stdout);
}

bool LiveStatus::Due() const {
  if (quiet_) return false;
  return tty_ || (plain_every_ > 0 &&
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - last_plain_).count() >= plain_every_);
}

void LiveStatus::Update(const std::vector<std::string>& lines) {
  if (quiet_) return;
  lines_ = lines;
  if (tty_) {
    Erase();
    Draw();
  } else if (Due()) {
    last_plain_ = std::chrono::steady_clock::now();
    for (const std::string& l : lines_) std::printf("run: %s\n", l.c_str());
  }
  std::fflush(stdout);
}

void LiveStatus::Clear() {
  if (quiet_) return;
  lines_.clear();
  Erase();
  std::fflush(stdout);
}

// Up to the block's first line, and clear from there down (ANSI: cursor previous line, erase
// below).
void LiveStatus::Erase() {
  if (!tty_ || shown_ == 0) return;
  std::printf("\033[%dF\033[J", shown_);
  shown_ = 0;
}

// Each line cut to the terminal's width: a wrapped line would take two rows, and Erase counts one.
void LiveStatus::Draw() {
  if (!tty_) return;
  winsize w{};
  const size_t width = ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 4 ? w.ws_col : 80;
  for (const std::string& l : lines_) std::printf("  %s\033[K\n", l.substr(0, width - 3).c_str());
  shown_ = int(lines_.size());
}

std::string JobStatusLine(const std::string& job, const std::string& how, long long steps, const LastMetrics& m) {
  std::string s = job + ": " + how;
  if (!m.step.is_number()) return s + ", starting";
  const double step = m.step.get<double>();
  char buf[160];
  std::snprintf(buf, sizeof buf, ", step %lld/%lld", (long long)step, steps);
  s += buf;
  if (m.loss.is_number()) std::snprintf(buf, sizeof buf, ", loss %.4f", m.loss.get<double>()), s += buf;
  if (m.tokens_per_second.is_number())
    std::snprintf(buf, sizeof buf, ", %.0f tok/s", m.tokens_per_second.get<double>()), s += buf;
  if (const double per = SecondsPerStep(m); per > 0)
    s += ", ETA " + HumanSeconds(std::max(0.0, (double(steps) - step) * per));
  return s;
}

}  // namespace saturn
