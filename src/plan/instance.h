// The planning instance: the cluster's nodes and, for every job, the configurations it may run
// in (technique, device count, duration) with the places each may go. Built from a sweep and a
// profile; it is all the planners, the checker and the simulator see.
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "config/sweep.h"
#include "profile/profile.h"
#include "util/status.h"

namespace saturn {

struct PlanNode {
  std::string name;
  int devices = 0;
  int kind = 0;  // index into Instance::kinds
};

// Where a configuration may run: one node (taking `use` of its devices) or several whole nodes.
struct Placement {
  std::vector<int> nodes;  // indices into Instance::nodes, ascending
  std::vector<int> use;    // devices taken on each of those nodes
};

// A configuration's placements, read-only and shared: every configuration of one device count
// and kind gets the same list (ComputePlacements builds one per pair), so an instance of thousands of
// jobs on hundreds of nodes holds each list once, and copying an instance copies no list.
class Placements {
 public:
  Placements() = default;
  explicit Placements(std::vector<Placement> all)
      : all_(std::make_shared<const std::vector<Placement>>(std::move(all))) {}
  size_t size() const { return all_ ? all_->size() : 0; }
  bool empty() const { return size() == 0; }
  const Placement& operator[](size_t i) const { return (*all_)[i]; }
  const Placement& front() const { return all_->front(); }
  std::vector<Placement>::const_iterator begin() const { return list().begin(); }
  std::vector<Placement>::const_iterator end() const { return list().end(); }

 private:
  const std::vector<Placement>& list() const;
  std::shared_ptr<const std::vector<Placement>> all_;
};

struct Config {
  std::string technique;
  int devices = 0;             // as profiled
  int kind = 0;                // the node kind it runs on (index into Instance::kinds)
  double step_seconds = 0;
  double seconds = 0;          // steps x step_seconds: the job's duration in this configuration
  long long peak_memory_bytes = 0;
  std::string knobs_json = "{}";
  bool estimated = false;      // its record is the analytic model's (saturn profile --estimate), not measured
  Placements placements;
  int width() const;  // devices actually held (whole nodes for a multi-node configuration)
};

struct PlanJob {
  std::string name;
  long long steps = 0;
  double weight = 1;           // its priority: the weight of its end time (plan/objective.h)
  double deadline = INFINITY;  // seconds from the plan's time 0 by which it must end
  double release = 0;          // seconds from the plan's time 0 before which it cannot start (a
                               // re-plan's moved job: until it has stopped where it runs)
  // Every feasible configuration the job allows, ordered by width, duration, technique
  // preference (TechniqueNames), device count. Schedules refer to configurations by this index.
  std::vector<Config> configs;
  // Indices of the Pareto front of each node kind, ascending (so by width): on its kind, each
  // strictly faster than every narrower one. A dominated configuration (of the same kind, at
  // least as wide and no faster) never helps a schedule: swapping it for its dominator frees
  // devices and time and keeps every other job's slot, so the optimizing policies search the
  // front alone and lose no plan. Across kinds nothing dominates: the devices differ. Baselines
  // may pick any configuration.
  std::vector<int> front;
  // On a cluster of several kinds, for each configuration: the front configurations of the same
  // technique and device count on every kind, itself included (when it is on the front).
  // The list schedulers place a job on whichever of them finishes first. Empty with one kind.
  std::vector<std::vector<int>> alike;
  int fastest() const;  // the front configuration of least duration (the narrower on ties)
  // Calls f(config), then f on each other configuration alike to it (none with one kind).
  template <class F>
  void ForAlike(int config, F f) const {
    f(config);
    if (!alike.empty())
      for (int c : alike[size_t(config)])
        if (c != config) f(c);
  }
};

// Devices held from time 0 until `until` by work the schedule does not place: a re-plan's
// running jobs (plan/replan.h). Every policy built on the Packer, the device assignment, the
// checker and the bound honour them; the MILP and group packing do not (MakePlan refuses them).
//
// A device taken out of use (the orchestrator excluded it after failed launches) is a
// reservation `out_of_use` until kForever: nothing is placed on it, and makespans and bounds
// leave it out. About 30 years: far past any sweep, yet small enough that a job placed after it
// keeps its duration to within the checker's 1e-6 s (doubles near 1e9 are 1.2e-7 s apart).
constexpr double kForever = 1e9;

struct Reservation {
  std::string job;
  std::string technique;
  int devices = 0;
  int node = 0;
  std::vector<int> device_ids;  // on `node`
  double until = 0;
  bool out_of_use = false;  // until kForever
};

struct Instance {
  std::string sweep;
  std::string objective = "makespan";  // one of ObjectiveNames() (plan/objective.h)
  // Node kinds, in the order nodes first name them; "" is a node of no kind (every node of a
  // sweep without cluster.kinds). Always at least one.
  std::vector<std::string> kinds = {""};
  std::vector<PlanNode> nodes;
  std::vector<PlanJob> jobs;
  std::vector<Reservation> reserved;
  // What building it decided that a user should hear (a record planned as infeasible because it
  // needs more memory than a device has), one line each with the profile's file:line.
  std::vector<std::string> notes;
  int total_devices() const;
};

// Checks the profile against the sweep (its sweep name, unknown jobs, duplicate records, a job
// with no feasible configuration) and builds the instance. A record whose peak_memory_bytes is
// above the cluster's device_memory_gib counts as infeasible, with a note.
Result<Instance> BuildInstance(const Sweep& sweep, const Profile& profile);

// Fills Config::placements for every configuration from the nodes of its kind. A configuration
// wider than a node takes ceil(devices / node size) whole nodes of equal size, in aligned
// consecutive blocks of that kind's nodes (none when `span` is false). A job never spans kinds.
void ComputePlacements(Instance* inst, bool span = true);

// Sets Instance::kinds and each node's kind from the nodes' kind names (in node order).
void IndexKinds(Instance* inst, const std::vector<std::string>& node_kinds);
// The index of `name` in inst.kinds, or -1.
int KindIndex(const Instance& inst, const std::string& name);
// "" for one kind; " on KIND" otherwise: for messages and tables.
std::string KindSuffix(const Instance& inst, int kind);
// Sorts a job's configurations and computes its front and alike lists (see PlanJob). Needs
// placements.
void OrderConfigs(PlanJob* job);

}  // namespace saturn
