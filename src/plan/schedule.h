// A schedule: for every job a configuration, a placement, a start time and concrete device ids;
// plus the machinery every policy shares to build one (a per-node capacity packer) and to check
// one (CheckSchedule runs on every plan a test or the CLI makes).
#pragma once

#include <string>
#include <vector>

#include "plan/instance.h"
#include "util/status.h"

namespace saturn {

struct Assignment {
  int config = -1;
  int placement = -1;
  double start = 0;
  double end = 0;
  std::vector<std::vector<int>> device_ids;  // per node of the placement
};

struct Schedule {
  std::vector<Assignment> jobs;  // indexed like Instance::jobs
  double makespan() const;
};

// A job's choice before timing: which configuration, where.
struct Choice {
  int job = -1;
  int config = -1;
  int placement = -1;
};

// Per-node device capacity over time. Devices on a node are identical and a job keeps its devices
// from start to end, so a set of intervals whose summed use never exceeds a node's devices can
// always be given concrete device ids (AssignDevices): no ordering variables per device needed.
//
// Each node's load is a step function (breakpoints at the intervals' starts and ends), so a query
// costs one pass over that node's breakpoints however many jobs made them: at thousands of jobs
// on hundreds of nodes, list scheduling stays near linear in jobs x nodes.
class Packer {
 public:
  explicit Packer(const Instance& inst);
  // Devices already held on `node` during [start, end) by something outside the schedule.
  void Block(int node, double start, double end, int use);
  // Earliest t >= from at which `p` has room for `seconds`.
  double EarliestStart(const Placement& p, double seconds, double from = 0) const;
  // At most EarliestStart(p, seconds, 0) for every `seconds`, in time linear in p's nodes.
  double StartBound(const Placement& p) const;
  void Place(const Placement& p, double start, double seconds);
  double node_end(int node) const;  // when the node's last interval ends

 private:
  struct Step {
    double at;  // the load holds on [at, next step's at)
    int load;
  };
  static size_t StepsUpTo(const std::vector<Step>& st, double t);
  // On `node`: the earliest t >= from with room for `use` devices over [t, t + seconds).
  double EarliestOn(int node, double from, double seconds, int use) const;
  const Instance& inst_;
  std::vector<std::vector<Step>> steps_;  // per node, ascending `at`; the last step's load is 0
  // Per node and device count u (index u, 1..devices): the index of the first step with room for
  // u devices. List scheduling packs nodes solid from time 0, so a query skips that prefix.
  std::vector<std::vector<size_t>> room_;
};

// Serial schedule generation: places the choices one by one, in the order given, each at its
// earliest feasible start. Given the order of any feasible schedule's start times and that
// schedule's choices, no job starts later than it did there (the compaction lemma in
// docs/planner.md), so this also turns a time-grid schedule into a tighter continuous one.
Schedule SerialSchedule(const Instance& inst, const std::vector<Choice>& order);

// Job j in configuration `config` at the placement where it finishes first given what `packer`
// holds (ties: the lower placement index); *finish gets that finish time. On a cluster of
// several node kinds, the same technique and device count on another kind (PlanJob::alike) is
// tried too, and the choice names whichever configuration finishes first (ties: `config`).
Choice EarliestPlacement(const Instance& inst, const Packer& packer, int j, int config, double* finish);

// List scheduling's choices: the jobs in `order`, job j in configuration config[j], each at its
// EarliestPlacement; `finish`, when given, gets each job's finish time (indexed by job).
std::vector<Choice> ListChoices(const Instance& inst, const std::vector<int>& order, const std::vector<int>& config,
                                std::vector<double>* finish = nullptr);

// The schedule of those choices.
Schedule ListSchedule(const Instance& inst, const std::vector<int>& order, const std::vector<int>& config);

// Gives each job concrete device ids: lowest free ids at its start, jobs taken by start time.
void AssignDevices(const Instance& inst, Schedule* s);

// Every job once, a valid configuration and placement, its duration as profiled, device ids in
// range and never two jobs on one device at once. Returns what is wrong.
Status CheckSchedule(const Instance& inst, const Schedule& s);

// A makespan no schedule can beat: the least C such that every job has a configuration no
// longer than C and the least device-seconds of such configurations fit in devices x C; with
// several node kinds, each kind's device-seconds priced (the best prices a search finds).
double LowerBound(const Instance& inst);

}  // namespace saturn
