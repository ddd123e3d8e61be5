// `saturn run SWEEP [--only JOB] [--resume | --restart] [--technique T] [--knobs JSON]
// [--device cpu|cuda] [--threads N]`: trains the sweep's jobs one after another, each on every
// rank this process was launched with (mpirun -n K, srun; one rank alone otherwise).
#include <memory>

#include "cli/command.h"
#include "cli/torch_errors.h"
#include "comm/registry.h"
#include "config/sweep.h"
#include "job/preflight.h"
#include "job/trainer.h"
#include "technique/names.h"
#include "util/heap.h"
#include "util/signals.h"
#include "util/threads.h"

namespace saturn {
namespace {

struct RunArgs {
  std::string sweep;
  std::vector<std::string> only;
  RunOptions opt;
};

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
    Status st = CatchTorchErrors([&] { return TrainJob(*sweep, *j, a.opt, **world); },
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
  sub->add_flag("-q,--quiet", a->opt.quiet, "print nothing but errors");
  return [a] { return Run(*a); };
}

}  // namespace saturn
