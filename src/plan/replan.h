// Re-planning a running sweep: given what has finished, what runs where and how long it still
// needs, and what waits, plan the rest. The orchestrator calls it as jobs end early or late
// (run/orchestrator.h); `saturn plan --from-state STATE.json` calls it on a state the
// orchestrator saved. Running jobs stay where they are (reservations of the residual instance)
// unless the state marks them movable: then one is moved (stopped at its next step boundary and
// continued from that checkpoint under another choice) when that alone ends the sweep sooner by
// SweepState::move_gain; waiting jobs may change technique, device count, devices and order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plan/objective.h"
#include "plan/plan.h"
#include "util/status.h"

namespace saturn {

// Devices of one node a job holds.
struct PlacedOn {
  std::string node;
  std::vector<int> device_ids;
};

// One job of the sweep at the moment of the state.
struct JobState {
  std::string job;
  std::string state;  // "finished" | "running" | "waiting"
  // Running and waiting: the choice it runs (or would run) with now: one node, or whole nodes.
  std::string technique;
  int devices = 0;
  std::vector<PlacedOn> placement;
  double remaining_seconds = 0;   // running: what its measured step rate predicts is left
  // Waiting: the share of its steps not yet trained; running and movable: the share left after
  // the checkpoint a stop would write.
  double remaining_fraction = 1;
  // Running: whether it may be moved. Its time under another choice is the profile's for that
  // choice scaled by remaining_seconds over the profile's for the current one (the job runs as
  // much faster or slower than profiled everywhere), plus restart_seconds (a launch until it
  // trains again), started no sooner than stop_seconds (to its next step boundary and the
  // checkpoint there; its devices stay held that long).
  bool movable = false;
  double stop_seconds = 0, restart_seconds = 0;
  double order = 0;               // waiting: its planned start in the current plan (sweep seconds)
};

// A job's state from a plan's assignment: its configuration, and nodes and devices by name.
JobState StateOf(const Instance& inst, int job, const Assignment& a);

struct SweepState {
  std::string plan;  // the plan the sweep started from: its instance is the one re-planned
  double now = 0;    // seconds since the sweep started
  // The nodes jobs may be placed on (an orchestrator that runs jobs on one node says which);
  // empty: every node of the plan.
  std::vector<std::string> nodes;
  // False: every job stays within one node (an orchestrator that cannot launch a job across
  // nodes says so); configurations wider than a node drop out.
  bool span_nodes = true;
  // Devices out of use (the orchestrator excluded them after failed launches): nothing is placed
  // on them; a waiting job planned there moves, and one that no longer fits anywhere is named
  // in Replanned::unplaceable.
  std::vector<PlacedOn> excluded;
  // A movable running job is moved only when moving it shortens the predicted time left by at
  // least this share of keeping every running job where it is (a restart is a risk worth a gain).
  double move_gain = 0.05;
  std::vector<JobState> jobs;
};

std::string SweepStateToJson(const SweepState& s);
// `path` names the file in errors; a relative `plan` is taken relative to the state file's folder.
Result<SweepState> ParseSweepState(const std::string& text, const std::string& path);
Result<SweepState> LoadSweepState(const std::string& path);

struct ReplanOptions {
  double time_limit_seconds = 5;
  // Local-search moves; 0: 4000 per waiting job (deterministic below the time limit); negative:
  // none (the current order re-decoded, each job starting as early as the devices free allow).
  long max_moves = 0;
  uint64_t seed = 1;
};

struct Replanned {
  // The plan of what waits, over the residual instance (running jobs as reservations), its
  // times counted from the state's `now` (offset_seconds).
  Plan plan;
  double kept_seconds = 0;  // predicted time to the end if the current choices and order stand
  double new_seconds = 0;   // the same for `plan`
  // The residual's Score (plan/objective.h; under makespan its primary key is the time to the
  // end, reservations included) kept, and for `plan`: `plan` is never worse.
  Score kept_score, new_score;
  // Whether adopting `plan` is worth it: it meets deadlines better, or it gains at least
  // `share` of the kept objective (and more than a microsecond).
  bool Worth(double share) const { return Gains(new_score, kept_score, std::max(1e-6, share * kept_score.primary)); }
  // Waiting jobs that no configuration fits on the devices left in use: not in `plan`.
  std::vector<std::string> unplaceable;
  // Running jobs `plan` moves: jobs of its instance (their steps those left after the stop's
  // checkpoint), their old devices reserved until they stop.
  std::vector<std::string> moved;
  // kept_seconds counts a waiting job on an excluded device as starting at kForever.
  bool kept_blocked() const { return kept_seconds >= kForever / 2; }
};

// `base` is the instance the sweep was planned with. A state that does not match it (unknown
// jobs, a choice it has no configuration for, devices off its nodes) is a user error. The base's
// own reservations (a re-plan re-planned) carry over, shortened by `now`: times of such a base
// count from its time 0, as `now` must then.
Result<Replanned> Replan(const Instance& base, const SweepState& state, const ReplanOptions& opt);

}  // namespace saturn
