// The planning policies. Each returns a schedule that passes CheckSchedule.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "plan/plan.h"
#include "plan/schedule.h"

namespace saturn {

// Baselines, as people run sweeps without a planner.
// Every job alone on one whole node with the default technique, back to back across nodes.
Schedule CurrentPracticeSchedule(const Instance& inst);
// Devices split evenly among the jobs, one fixed technique.
Schedule UniformSchedule(const Instance& inst);
// List scheduling: longest job first, each at its fastest configuration, earliest start.
Schedule GreedySchedule(const Instance& inst);

// Group packing against a target makespan (plan/group_pack.cc): each job takes its least-area
// front configuration finishing within `target`, and nodes are cut into groups of devices, widest
// first. Returns an empty schedule when some width fits no node's groups.
Schedule GroupPackSchedule(const Instance& inst, double target);

// The best, by the instance's Score (plan/objective.h), of several moldable list-scheduling
// heuristics over the Pareto fronts, and of the three baselines (greedy, uniform, current
// practice), which always run: the milp policy's starting incumbent, never worse than a
// baseline. The rest within about `seconds` (past them only to finish the candidate under way).
// `lower_bound`: the instance's LowerBound when the caller has it (< 0: computed here).
Schedule HeuristicSchedule(const Instance& inst, double seconds = std::numeric_limits<double>::infinity(),
                           double lower_bound = -1);

// Iterated local search from `start` over job orders and front configurations, each candidate
// decoded by ListSchedule (plan/local_search.cc). Stops after `max_moves` moves or `max_seconds`;
// the same inputs and seed give the same schedule when the move budget ends it. Never worse
// than OnFront(start) by the instance's Score (plan/objective.h).
struct LocalSearchStats {
  long moves = 0;      // moves tried
  double seconds = 0;  // wall time
};
Schedule LocalSearchSchedule(const Instance& inst, const Schedule& start, long max_moves, double max_seconds,
                             uint64_t seed = 1, LocalSearchStats* stats = nullptr);

// The same schedule with every configuration replaced by a front configuration that dominates
// it (no wider, no slower) on the same nodes, repacked in the same order: never longer.
Schedule OnFront(const Instance& inst, const Schedule& s);

// The choices of a schedule in order of start time (ties by job index): feeding them back to
// SerialSchedule reproduces or tightens the schedule.
std::vector<Choice> ChoicesByStart(const Schedule& s);

}  // namespace saturn
