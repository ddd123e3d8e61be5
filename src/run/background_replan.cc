#include "run/background_replan.h"

#include <cassert>

namespace saturn {

BackgroundReplan::~BackgroundReplan() {
  if (thread_.joinable()) thread_.join();  // a re-plan is time-limited: this wait is bounded
}

void BackgroundReplan::Start(const Instance& base, SweepState state, ReplanOptions opt) {
  assert(!in_flight());
  state_ = std::move(state);
  done_ = false;
  result_.reset();
  thread_ = std::thread([this, &base, opt] {
    result_ = std::make_unique<Result<Replanned>>(Replan(base, state_, opt));
    done_ = true;
  });
}

std::optional<std::pair<SweepState, Result<Replanned>>> BackgroundReplan::Take() {
  if (!thread_.joinable() || !done_) return std::nullopt;
  thread_.join();
  return std::make_pair(std::move(state_), std::move(*result_));
}

}  // namespace saturn
