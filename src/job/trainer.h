// Trains one job of a sweep in <output_dir>/<job>/ (layout: docs/run.md): metrics.jsonl,
// checkpoints/step-N/, final/. The loop, logging, metrics, validation and checkpoint policy
// live here and are the same for every technique; the technique's TrainStep does the rest
// (technique/train_step.h). Every rank of the world runs this together; rank 0 alone writes.
// Resuming from a checkpoint with the same technique and rank count continues exactly: the
// losses that follow equal, bit for bit on the same machine and thread count, those of a run
// that was never interrupted. Under another technique or rank count it continues from the same
// weights, optimizer state and data position.
#pragma once

#include <string>
#include <vector>

#include "comm/registry.h"
#include "config/sweep.h"
#include "util/status.h"

namespace saturn {

struct RunOptions {
  std::string device = "cpu";  // cpu | cuda
  int threads = 0;             // per rank; 0: this node's cores shared among its ranks
  bool quiet = false;
  bool resume = false;   // continue from the job's newest checkpoint
  bool restart = false;  // delete what an earlier run left and start over
  std::string technique;  // "": the job's only technique; ddp on one rank when it allows several
  std::string knobs;      // the technique's knobs, a JSON object ("" for defaults)
  // Rank r's device slot on its node (`saturn profile` packs trials onto disjoint slots): its GPU
  // index on cuda; on cpu, its share of the node's cores (util/threads.h). Empty: local rank
  // on cuda, no core binding on cpu (unless slots_by_local_rank).
  std::vector<int> slots;
  // Each rank's slot is its local rank, cores bound too: a job that has every device of its
  // nodes (the orchestrator's jobs across nodes, `--slots local`).
  bool slots_by_local_rank = false;
  // The device slots of the node those slots are on, whose cores they share out; 0: the sweep's
  // widest node's (the orchestrator and profiler say so where a node is narrower).
  int node_slots = 0;
};

// The job's directory: <sweep output_dir>/<job name>.
std::string JobDir(const Sweep& sweep, const JobSpec& job);

// Trains the job on every rank of `world` with the technique the options (or the job) name.
// A technique that is not feasible there, or a rank count the job or cluster does not allow,
// is a user error before anything trains.
Status TrainJob(const Sweep& sweep, const JobSpec& job, const RunOptions& opt, World& world);

// What `saturn profile` measures of one job: the same set-up and TrainStep as TrainJob, then
// `warmup` steps untimed and `timed` steps timed, writing nothing but the shared token cache.
struct StepTiming {
  std::vector<double> step_seconds;      // each timed step, wall clock on rank 0 (steps end in a collective)
  unsigned long long peak_memory_bytes = 0;  // the largest rank's peak during the timed steps (CPU: resident set)
  std::string knobs_json;                // the knobs it ran with, resolved (ResolvedKnobsJson)
};
Result<StepTiming> MeasureJob(const Sweep& sweep, const JobSpec& job, const RunOptions& opt, World& world,
                              int warmup, int timed);

}  // namespace saturn
