// `saturn run SWEEP [--only JOB] [--resume | --restart] [--device cpu|cuda] [--threads N]`:
// trains the sweep's jobs one after another on one device.
#include <memory>

#include "cli/command.h"
#include "config/sweep.h"
#include "train/trainer.h"
#include "util/heap.h"

namespace saturn {
namespace {

struct RunArgs {
  std::string sweep;
  std::vector<std::string> only;
  RunOptions opt;
};

Status Run(const RunArgs& a) {
  if (a.sweep.empty()) return Status::UserError("give a sweep file: saturn run SWEEP.yaml");
  if (a.opt.resume && a.opt.restart) return Status::UserError("--resume and --restart contradict each other; pick one");
  if (a.opt.threads < 0) return Status::UserError("--threads must be 0 (every core) or more");
  Result<Sweep> sweep = LoadSweep(a.sweep);
  if (!sweep.ok()) return sweep.status();
  std::vector<const JobSpec*> jobs;
  for (const std::string& name : a.only) {
    const JobSpec* j = sweep->find_job(name);
    if (!j) {
      std::string names;
      for (const auto& job : sweep->jobs) names += (names.empty() ? "" : ", ") + job.name;
      return Status::UserError("--only " + name + ": " + a.sweep + " has no such job; its jobs: " + names);
    }
    jobs.push_back(j);
  }
  if (a.only.empty())
    for (const auto& j : sweep->jobs) jobs.push_back(&j);
  KeepLargeAllocationsInHeap();
  for (const JobSpec* j : jobs) SATURN_RETURN_IF_ERROR(TrainJob(*sweep, *j, a.opt));
  return Status::Ok();
}

}  // namespace

Action SetupRunCommand(CLI::App* sub) {
  auto a = std::make_shared<RunArgs>();
  sub->add_option("sweep", a->sweep, "the sweep (YAML)");
  sub->add_option("--only", a->only, "train only this job (repeatable); names as `saturn plan` prints them");
  sub->add_flag("--resume", a->opt.resume, "continue each job from its newest checkpoint");
  sub->add_flag("--restart", a->opt.restart, "delete each job's earlier results and start over");
  sub->add_option("--device", a->opt.device, "cpu or cuda (default cpu)")->check(CLI::IsMember({"cpu", "cuda"}));
  sub->add_option("--threads", a->opt.threads, "CPU threads for LibTorch (default: every core)");
  sub->add_flag("-q,--quiet", a->opt.quiet, "print nothing but errors");
  return [a] { return Run(*a); };
}

}  // namespace saturn
