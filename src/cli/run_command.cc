// `saturn run SWEEP [--only JOB] [--resume | --restart] [--technique T] [--knobs JSON]
// [--device cpu|cuda] [--threads N]`: trains the sweep's jobs one after another, each on every
// rank this process was launched with (mpirun -n K, srun; one rank alone otherwise).
// `saturn run SWEEP --plan PLAN.json`: executes a plan, each job on its planned ranks and
// devices (run/orchestrator.h).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include "cli/command.h"
#include "cli/torch_errors.h"
#include "comm/registry.h"
#include "config/sweep.h"
#include "job/preflight.h"
#include "job/trainer.h"
#include "launch/hosts.h"
#include "launch/launcher.h"
#include "plan/plan.h"
#include "run/orchestrator.h"
#include "run/plan_fit.h"
#include "util/files.h"
#include "technique/names.h"
#include "util/heap.h"
#include "util/dir_lock.h"
#include "util/signals.h"
#include "util/subprocess.h"
#include "util/threads.h"

namespace saturn {
namespace {

struct RunArgs {
  std::string sweep;
  std::vector<std::string> only;
  std::string slots;
  RunOptions opt;
  // With --plan: the orchestrator's own.
  std::string plan, launcher;
  bool dry_run = false, no_replan = false, auto_plan = false, replan_move = false;
  int max_retries = 2, exclude_after = 2;
  double replan_threshold = 0.05, replan_every = 30, replan_time_limit = 2, status_every = 30;
};

// The orchestrator's options, checked before --auto spends time profiling.
Status CheckExecuteArgs(const RunArgs& a) {
  if (!a.only.empty() || !a.opt.technique.empty() || !a.opt.knobs.empty() || !a.slots.empty())
    return Status::UserError("--plan decides each job's technique, knobs and devices: drop --only, --technique, "
                             "--knobs and --slots");
  if (a.max_retries < 0 || a.max_retries > 100) return Status::UserError("--max-retries must be 0 to 100");
  if (a.exclude_after < 0 || a.exclude_after > 1000)
    return Status::UserError("--exclude-after must be 0 (never exclude a device) to 1000");
  if (!(a.replan_threshold >= 0 && a.replan_threshold <= 1))
    return Status::UserError("--replan-threshold must be between 0 and 1: the share of the predicted time left that "
                             "a re-plan must save to be adopted (0.05: 5%)");
  if (!(a.replan_every >= 1 && a.replan_every <= 1e6)) return Status::UserError("--replan-every must be 1 to 1e6 seconds");
  // Nothing launches while a re-plan searches, and a stop waits for it: keep it short.
  if (!(a.status_every >= 0 && a.status_every <= 1e6))
    return Status::UserError("--status-every must be 0 (never) to 1e6 seconds");
  if (!(a.replan_time_limit > 0 && a.replan_time_limit <= 60))
    return Status::UserError("--replan-time-limit must be more than 0 and at most 60 seconds");
  if (a.replan_move && a.no_replan)
    return Status::UserError("--replan-move moves running jobs when a re-plan says so: drop --no-replan, or --replan-move");
  return Status::Ok();
}

// `--plan`: every job of the plan on its planned devices, through the launcher.
Status Execute(const RunArgs& a, const Sweep& sweep) {
  SATURN_RETURN_IF_ERROR(CheckExecuteArgs(a));
  Result<Plan> plan = LoadPlan(a.plan);
  if (!plan.ok()) return plan.status();
  if (!plan->instance.reserved.empty() || plan->offset_seconds > 0)
    return Status::UserError(a.plan + ": a re-plan of a running sweep (saturn plan --from-state, or plan-N.json): "
                             "it covers only what was left then; execute the sweep's own plan, and --resume picks up "
                             "the re-plans its journal adopted");
  // A journal follows the plan it started with: a new plan starts over (--restart).
  const std::string replan = a.auto_plan ? "saturn run " + a.sweep + " --auto --restart profiles what is missing and plans anew"
                             : a.opt.resume ? "saturn plan " + a.sweep + " --profile PROFILE.json -o NEW.json, then run NEW.json "
                                                                          "with --restart: this run's journal follows " + a.plan
                                            : "saturn plan " + a.sweep + " --profile PROFILE.json -o NEW.json, and run that";
  SATURN_RETURN_IF_ERROR(CheckPlanFitsSweep(*plan, a.plan, sweep, replan));
  ExecuteOptions opt;
  opt.plan_path = a.plan;
  const SlurmAllocation slurm = SlurmAllocation::FromEnvironment();
  opt.launcher = Launcher::Make(a.launcher, slurm, sweep.cluster.device);
  std::vector<NodeAddress> addresses;
  for (const PlanNode& n : plan->instance.nodes) {
    const auto it = std::find_if(sweep.cluster.nodes.begin(), sweep.cluster.nodes.end(),
                                 [&](const NodeSpec& s) { return s.name == n.name; });
    addresses.push_back({n.name, it == sweep.cluster.nodes.end() ? "" : it->host});
  }
  Result<NodeMap> nodes = MapNodes(addresses, opt.launcher.kind(), slurm);
  if (!nodes.ok()) return nodes.status();
  opt.nodes = *nodes;
  opt.max_retries = a.max_retries;
  opt.exclude_after = a.exclude_after;
  opt.threads = a.opt.threads;
  opt.resume = a.opt.resume;
  opt.restart = a.opt.restart;
  opt.dry_run = a.dry_run;
  opt.quiet = a.opt.quiet;
  opt.replan = !a.no_replan;
  opt.replan_threshold = a.replan_threshold;
  opt.replan_every = a.replan_every;
  opt.replan_time_limit = a.replan_time_limit;
  opt.replan_move = a.replan_move;
  opt.status_every = a.status_every;
  // The widest job the launcher may have to start: a re-plan may pick any configuration of a job.
  int widest = 0;
  for (size_t i = 0; i < plan->schedule.jobs.size(); ++i) {
    const PlanJob& pj = plan->instance.jobs[i];
    widest = std::max(widest, pj.configs[plan->schedule.jobs[i].config].devices);
    if (opt.replan)
      for (const Config& c : pj.configs) widest = std::max(widest, c.devices);
  }
  const bool remote = std::any_of(opt.nodes.nodes.begin(), opt.nodes.nodes.end(),
                                  [](const NodeTarget& t) { return !t.host.empty(); });
  if (!a.dry_run) SATURN_RETURN_IF_ERROR(opt.launcher.CheckUsable(widest, remote));
  if (!a.dry_run) {
    std::vector<const JobSpec*> jobs;
    for (const auto& j : sweep.jobs) jobs.push_back(&j);
    SATURN_RETURN_IF_ERROR(CheckJobInputs(sweep, jobs));
  }
  std::error_code ec;
  opt.saturn = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) return Status::Internal("cannot find this saturn binary (/proc/self/exe): " + ec.message());
  CatchStopSignals();
  return ExecutePlan(sweep, *plan, opt);
}

// A step of --auto: this saturn binary with `args`, its output on ours. A stop signal meanwhile
// is passed on (the step keeps what it finished, as it does on its own) and ends --auto.
Status AutoStep(const std::string& what, const std::vector<std::string>& args, const std::string& again) {
  std::error_code ec;
  const std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) return Status::Internal("cannot find this saturn binary (/proc/self/exe): " + ec.message());
  std::vector<std::string> argv = {self};
  argv.insert(argv.end(), args.begin(), args.end());
  Result<Subprocess> p = Subprocess::Start(argv, "");
  if (!p.ok()) return p.status();
  bool passed = false;
  while (!p->Poll()) {
    if (StopSignal() != 0 && !passed) p->Signal(StopSignal()), passed = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (StopSignal() != 0)  // also when the step had just finished: nothing more starts
    return Status::Stopped(StopSignal(), "stopped while " + what + "; " + again);
  if (p->exit_code() == 0) return Status::Ok();
  return Status::FromCode(p->exit_code(), what + " failed (exit " + std::to_string(p->exit_code()) + ", above): " +
                                              ShellLine(argv));
}

// --auto: profile what the output directory's profile.json lacks, plan the sweep from it into
// plan.json, and execute that plan as --plan does. --resume executes the plan made before, which
// the journal follows; --restart plans again (from the same profile, completed if need be).
Status Auto(RunArgs a, const Sweep& sweep) {
  if (!a.plan.empty()) return Status::UserError("--auto makes the plan itself: drop --plan PLAN.json, or drop --auto");
  if (a.dry_run)
    return Status::UserError("--dry-run needs a plan, and --auto makes one by profiling: run saturn profile and "
                             "saturn plan first, then saturn run --plan PLAN.json --dry-run");
  SATURN_RETURN_IF_ERROR(CheckExecuteArgs(a));
  const std::string dir = sweep.output_dir, profile = dir + "/profile.json";
  a.plan = dir + "/plan.json";
  namespace fs = std::filesystem;
  // What the orchestrator would refuse, refused before hours of profiling: a sweep being run (its
  // plan.json must not change under it), or an earlier run's results with neither flag.
  const std::string holder = DirLock::Holder(dir);
  if (!holder.empty()) return Status::UserError(dir + ": sweep '" + sweep.name + "' is being run by " + holder);
  std::vector<std::string> names;
  for (const JobSpec& j : sweep.jobs) names.push_back(j.name);
  SATURN_RETURN_IF_ERROR(CheckEarlierRun(dir, names, a.opt.resume, a.opt.restart));
  std::error_code ec;
  if (a.opt.resume && fs::exists(a.plan, ec)) return Execute(a, sweep);
  fs::create_directories(dir, ec);
  if (ec) return Status::UserError(dir + ": cannot create the sweep's output directory: " + ec.message());
  CatchStopSignals();
  // The plan needs the jobs' records; links feed only --estimate, which --auto does not use.
  std::vector<std::string> prof = {"profile", a.sweep, "-o", profile, "--no-links"};
  if (fs::exists(profile, ec)) prof.push_back("--resume");  // measures only what is missing
  if (!a.launcher.empty()) prof.insert(prof.end(), {"--launcher", a.launcher});
  if (a.opt.threads > 0) prof.insert(prof.end(), {"--threads", std::to_string(a.opt.threads)});
  if (a.opt.quiet) prof.push_back("-q");
  const std::string again = a.opt.restart ? "run the same command again (its profile goes on where it stopped)"
                                          : "run the same command with --resume to go on";
  SATURN_RETURN_IF_ERROR(AutoStep("profiling", prof, again));
  std::vector<std::string> plan = {"plan", a.sweep, "--profile", profile, "-o", a.plan};
  if (a.opt.quiet) plan.push_back("-q");
  SATURN_RETURN_IF_ERROR(AutoStep("planning", plan, again));
  return Execute(a, sweep);
}

Result<std::vector<const JobSpec*>> PickJobs(const Sweep& sweep, const RunArgs& a) {
  std::vector<const JobSpec*> jobs;
  for (const std::string& name : a.only) {
    const JobSpec* j = sweep.find_job(name);
    if (!j) {
      std::string names;
      for (const auto& job : sweep.jobs) names += (names.empty() ? "" : ", ") + job.name;
      return Status::UserError("--only " + name + ": " + a.sweep + " has no such job; its jobs: " + names);
    }
    jobs.push_back(j);
  }
  if (a.only.empty())
    for (const auto& j : sweep.jobs) jobs.push_back(&j);
  return jobs;
}

Status Run(const RunArgs& a) {
  if (a.sweep.empty()) return Status::UserError("give a sweep file: saturn run SWEEP.yaml");
  if (a.opt.resume && a.opt.restart) return Status::UserError("--resume and --restart contradict each other; pick one");
  SATURN_RETURN_IF_ERROR(CheckThreadCount(a.opt.threads));
  Result<Sweep> sweep = LoadSweep(a.sweep);
  if (!sweep.ok()) return sweep.status();
  if (a.auto_plan) return Auto(a, *sweep);
  if (!a.plan.empty()) return Execute(a, *sweep);
  const RunArgs defaults;
  if (a.dry_run || a.no_replan || !a.launcher.empty() || a.replan_threshold != defaults.replan_threshold ||
      a.replan_every != defaults.replan_every || a.replan_time_limit != defaults.replan_time_limit ||
      a.max_retries != defaults.max_retries || a.exclude_after != defaults.exclude_after ||
      a.status_every != defaults.status_every || a.replan_move)
    return Status::UserError("--dry-run, --no-replan, --replan-*, --max-retries, --exclude-after, --status-every and "
                             "--launcher go with --plan PLAN.json (or --auto)");
  Result<std::vector<int>> slots = a.slots == "local" ? std::vector<int>() : ParseSlots(a.slots);
  if (!slots.ok()) return slots.status();
  RunOptions opt = a.opt;
  opt.slots = *slots;
  opt.slots_by_local_rank = a.slots == "local";
  Result<std::vector<const JobSpec*>> jobs = PickJobs(*sweep, a);
  if (!jobs.ok()) return jobs.status();
  Result<World*> world = GetWorld();
  if (!world.ok()) return world.status();
  // Every job's inputs before the first trains; rank 0 checks, every rank hears.
  Communicator& comm = *(*world)->control;
  SATURN_RETURN_IF_ERROR(AgreeOnStatus(comm, comm.rank() == 0 ? CheckJobInputs(*sweep, *jobs) : Status::Ok()));
  CatchStopSignals();
  KeepLargeAllocationsInHeap();
  for (const JobSpec* j : *jobs) {
    Status st = CatchTorchErrors([&] { return TrainJob(*sweep, *j, opt, **world); },
                                 "lower micro_batch_size, turn on activation_checkpointing, or use more ranks with fsdp");
    if (st.ok()) continue;
    // A failure the ranks did not agree on is this rank's alone: say whose.
    if ((*world)->size() > 1 && !AgreedFailure() && !st.message().empty())
      return Status::FromCode(st.exit_code(), (*world)->label() + ": " + st.message());
    return st;
  }
  return Status::Ok();
}

}  // namespace

Action SetupRunCommand(CLI::App* sub) {
  auto a = std::make_shared<RunArgs>();
  sub->add_option("sweep", a->sweep, "the sweep (YAML)");
  sub->add_option("--only", a->only, "train only this job (repeatable); names as `saturn plan` prints them");
  sub->add_flag("--resume", a->opt.resume, "continue each job from its newest checkpoint (any technique and rank count)");
  sub->add_flag("--restart", a->opt.restart, "delete each job's earlier results and start over");
  std::string names;
  for (const auto& n : TechniqueNames()) names += (names.empty() ? "" : ", ") + n;
  sub->add_option("--technique", a->opt.technique,
                  "how the job trains on the launched ranks: " + names + " (default: the job's only technique; "
                  "ddp on one rank)");
  sub->add_option("--knobs", a->opt.knobs, "the technique's settings, a JSON object, e.g. '{\"bucket_mb\": 4}'");
  sub->add_option("--device", a->opt.device, "cpu or cuda (default cpu)")->check(CLI::IsMember({"cpu", "cuda"}));
  sub->add_option("--threads", a->opt.threads, "CPU threads per rank for LibTorch (default: the node's cores over its ranks)");
  sub->add_option("--slots", a->slots,
                  "each rank's device slot on its node, e.g. 0,1 (its GPU; on cpu its share of the cores), or 'local': "
                  "its local rank, cores bound too; default: its local rank on cuda, no binding on cpu. --plan passes the "
                  "plan's devices");
  sub->add_option("--node-slots", a->opt.node_slots,
                  "the device slots of the node --slots are on, whose cores they share (default: the sweep's widest "
                  "node's); --plan passes it for narrower nodes")
      ->check(CLI::Range(1, 1 << 20));
  sub->add_option("--plan", a->plan,
                  "execute this plan (saturn plan -o): every job on its planned technique and devices, each started "
                  "as soon as its devices are free, in the plan's order (docs/run.md)");
  sub->add_flag("--auto", a->auto_plan,
                "profile what OUTPUT_DIR/profile.json lacks, plan the sweep into OUTPUT_DIR/plan.json, and execute "
                "it as --plan does (--resume executes the plan made before)");
  sub->add_flag("--dry-run", a->dry_run, "with --plan: print the schedule and every launch command; run nothing");
  sub->add_flag("--no-replan", a->no_replan,
                "with --plan: follow the saved plan exactly (no re-planning as jobs end early or late)");
  sub->add_option("--replan-threshold", a->replan_threshold,
                  "with --plan: adopt a re-plan when it saves at least this share of the predicted time left "
                  "(default 0.05)");
  sub->add_option("--replan-every", a->replan_every,
                  "with --plan: seconds between re-plans while jobs wait, besides one after every job's end (default 30)");
  sub->add_flag("--replan-move", a->replan_move,
                "with --plan: a re-plan may also move a running job to another technique, device count or devices: "
                "it stops at a checkpoint and continues there, when that alone saves --replan-threshold of the time "
                "left (default: running jobs stay where they are)");
  sub->add_option("--replan-time-limit", a->replan_time_limit,
                  "with --plan: seconds one re-plan may search; nothing starts meanwhile (default 2)");
  sub->add_option("--status-every", a->status_every,
                  "with --plan, when stdout is no terminal: seconds between lines of each running job's step, loss, "
                  "tokens/s and ETA (default 30; 0: none); on a terminal they are redrawn in place every second");
  sub->add_option("--max-retries", a->max_retries,
                  "with --plan: restarts of a failed job from its newest checkpoint before it is marked failed "
                  "(default 2)");
  sub->add_option("--exclude-after", a->exclude_after,
                  "with --plan: take a device out of use once launches of this many different jobs failed on it, and "
                  "re-plan what was planned there onto the rest (default 2; 0: never)");
  sub->add_option("--launcher", a->launcher,
                  "with --plan: how a job starts its ranks: default srun inside a Slurm allocation, else "
                  "$SATURN_MPIRUN, else mpirun");
  sub->add_flag("-q,--quiet", a->opt.quiet, "print nothing but errors");
  return [a] { return Run(*a); };
}

}  // namespace saturn
