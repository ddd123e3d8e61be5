// `saturn profile`: runs every trial of a TrialPlan as its own launch (one process for one
// device, mpirun -n K for K; inside a Slurm allocation, an srun job step each), packed onto the
// free device slots of the cluster's reachable nodes (launch/hosts.h) so that trials on disjoint
// devices run at once, a trial wider than a node on whole nodes of one launch; turns each outcome into a profile record (a crash, a hang past
// the timeout, out of memory: infeasible, with the reason) and rewrites the profile atomically
// after every trial, so a stop loses nothing measured. Knows nothing of LibTorch: the trials are
// `saturn profile-trial` processes.
#pragma once

#include <string>
#include <vector>

#include "config/sweep.h"
#include "launch/hosts.h"
#include "launch/launcher.h"
#include "profile/trials.h"
#include "util/status.h"

namespace saturn {

struct ProfilerOptions {
  std::string out;        // the profile to write
  std::string saturn;     // this saturn binary, which the trials run
  Launcher launcher;      // how a trial's ranks start: mpirun, or srun steps inside Slurm
  NodeMap nodes;          // where the sweep's nodes are; trials run on the reachable ones
  std::string kind;       // the node kind the trials run on (ClusterSpec::kinds); "": none
  int warmup = 2;         // untimed steps first
  int timed = 5;          // then timed steps; the record keeps their median
  double trial_timeout = 600;  // seconds per trial, start-up included
  int threads = 0;        // per rank; 0: the rank's share of the node's cores
  std::string device_name;  // the device's model, for the profile's provenance and --resume's check
  int cores = 0;          // CPU devices: the cores each node's trials share out (0: unknown)
  bool resume = false;    // keep the records `out` already has for these trials
  bool restart = false;   // overwrite `out`
  bool dry_run = false;   // list the trials and their commands; run nothing
  bool serial = false;    // one trial at a time (no packing)
  bool search = true;     // try each trial's knob settings (Trial::variants), keep the fastest
  bool quiet = false;
  // Link measurements (LinkTrials): their buffer sizes; the trials themselves are in the plan.
  long long links_min_bytes = 4 << 10, links_max_bytes = 256 << 20;
};

// Runs plan.trials (job trials and link trials alike) and writes the profile.
Status RunProfiler(const Sweep& sweep, const TrialPlan& plan, const ProfilerOptions& opt);

// The trial's reason for failing, from its log: the last "error: " line, or the last line.
std::string TrialFailureReason(const std::string& log_text);

}  // namespace saturn
