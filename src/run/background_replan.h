// One re-plan at a time on a thread of its own, so that the orchestrator keeps watching its
// jobs while the planner searches (plan/replan.h). The instance must outlive it.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <thread>

#include "plan/replan.h"

namespace saturn {

class BackgroundReplan {
 public:
  BackgroundReplan() = default;
  ~BackgroundReplan();
  BackgroundReplan(const BackgroundReplan&) = delete;
  BackgroundReplan& operator=(const BackgroundReplan&) = delete;

  // Starts re-planning `state`; only when none is in flight.
  void Start(const Instance& base, SweepState state, ReplanOptions opt);
  bool in_flight() const { return thread_.joinable(); }
  // The finished re-plan and the state it planned from, once; nothing while it still runs.
  std::optional<std::pair<SweepState, Result<Replanned>>> Take();

 private:
  std::thread thread_;
  std::atomic<bool> done_{false};
  SweepState state_;
  std::unique_ptr<Result<Replanned>> result_;
};

}  // namespace saturn
