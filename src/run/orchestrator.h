// `saturn run SWEEP --plan PLAN.json`: executes a plan. One orchestrator process starts each job
// (`saturn run --only JOB --technique T --slots ...` on its planned device count, through the
// launcher: mpirun, or an srun job step inside Slurm) as soon as its planned devices are free,
// keeping the plan's order on every device (event-driven, not by the plan's clock), and waits
// on all of them. Every event goes to the journal first (run/journal.h); a job whose ranks fail
// is restarted from its newest checkpoint up to max_retries times, then marked failed while the
// others go on; devices on which several jobs failed are taken out of use and what was planned
// there is re-planned; SIGINT/SIGTERM make every job checkpoint and stop. As jobs end early or late,
// what waits (and with replan_move what runs) is re-planned in the background and a shorter plan
// adopted (plan-N.json, journaled).
// Knows nothing of LibTorch.
#pragma once

#include <string>
#include <vector>

#include "config/sweep.h"
#include "launch/hosts.h"
#include "launch/launcher.h"
#include "plan/plan.h"
#include "util/status.h"

namespace saturn {

struct ExecuteOptions {
  std::string saturn;     // this saturn binary, which every job runs
  std::string plan_path;  // for the journal and the report
  Launcher launcher;
  NodeMap nodes;          // where each of the plan's nodes is (launch/hosts.h); jobs run on reachable ones
  int max_retries = 2;    // restarts of a failed job from its newest checkpoint
  // A device on which launches of this many different jobs failed is excluded (0: never): jobs
  // planned on it are re-planned onto the rest, and a job the rest cannot host fails.
  int exclude_after = 2;
  int threads = 0;        // LibTorch threads per rank, passed on (0: the rank's slot's cores)
  bool resume = false;    // continue after an orchestrator that stopped: finished jobs stay done
  bool restart = false;   // start every job over, forgetting the journal
  bool dry_run = false;   // print the schedule and every launch command; run nothing
  bool quiet = false;
  // Re-planning (plan/replan.h): after every job's end, and every replan_every seconds while jobs
  // wait, the rest is re-planned from the jobs' measured step rates; the new plan is adopted when
  // it ends the sweep at least replan_threshold (a share of the predicted time left) sooner, or
  // under the plan's mean-completion objective gains that share of it, or meets deadlines better
  // (Replanned::Worth).
  bool replan = true;
  double replan_threshold = 0.05;
  double replan_every = 30;
  double replan_time_limit = 2;
  // A re-plan may also move a running job (another technique, device count or devices): it gets
  // SIGUSR1, stops at a checkpoint, and is launched again from there as re-planned. Each move
  // must alone save replan_threshold of the predicted time left.
  bool replan_move = false;
  // A line per running job (step, loss, tokens/s, ETA): redrawn in place on a terminal, else
  // printed every status_every seconds (0: never).
  double status_every = 30;
};

// What an earlier run left in the sweep's output directory `dir` that neither --resume nor
// --restart says what to do with (its journal, or results of one of `jobs`): a user error.
Status CheckEarlierRun(const std::string& dir, const std::vector<std::string>& jobs, bool resume, bool restart);

// Runs the plan's jobs, which must fit the sweep (CheckPlanFitsSweep, run/plan_fit.h); Ok when
// every job finished. Failed jobs make it an error naming each job
// and its log (exit 1, after the others ran); a stop signal, exit 128 + the signal.
Status ExecutePlan(const Sweep& sweep, const Plan& plan, const ExecuteOptions& opt);

}  // namespace saturn
