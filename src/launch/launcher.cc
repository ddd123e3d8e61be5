#include "launch/launcher.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "util/subprocess.h"

namespace saturn {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

long long EnvNumber(const char* name) {
  const std::string v = Env(name);
  char* end = nullptr;
  const long long n = std::strtoll(v.c_str(), &end, 10);
  return (!v.empty() && end && *end == '\0' && n > 0) ? n : 0;
}

std::string Program(const std::vector<std::string>& argv) {
  return argv.empty() ? "" : std::filesystem::path(argv[0]).filename().string();
}

bool Has(const std::vector<std::string>& argv, const std::string& flag) {
  for (const auto& a : argv)
    if (a == flag || a.rfind(flag + "=", 0) == 0) return true;
  return false;
}

}  // namespace

SlurmAllocation SlurmAllocation::FromEnvironment() {
  SlurmAllocation s;
  s.job_id = Env("SLURM_JOB_ID");
  s.node = Env("SLURMD_NODENAME");
  s.cpus_on_node = int(EnvNumber("SLURM_CPUS_ON_NODE"));
  s.mem_per_node_mb = EnvNumber("SLURM_MEM_PER_NODE");
  return s;
}

Launcher Launcher::Make(const std::string& command, const SlurmAllocation& slurm) {
  Launcher l;
  l.slurm_ = slurm;
  std::string cmd = command;
  if (cmd.empty()) cmd = slurm.inside() ? "srun" : (Env("SATURN_MPIRUN").empty() ? "mpirun" : Env("SATURN_MPIRUN"));
  l.base_ = SplitWords(cmd);
  l.kind_ = Program(l.base_) == "srun" ? LaunchKind::kSrun : LaunchKind::kMpirun;
  return l;
}

std::vector<std::string> Launcher::Command(int ranks, int node_slots, const std::vector<std::string>& program,
                                           const std::string& name) const {
  std::vector<std::string> argv;
  if (kind_ == LaunchKind::kMpirun) {
    if (ranks <= 1) return program;
    argv = base_;
    // Open MPI binds ranks to cores by default; each rank binds itself to its slot's cores.
    const std::string p = Program(argv);
    if ((p == "mpirun" || p == "mpiexec" || p == "orterun") && !Has(argv, "--bind-to"))
      argv.insert(argv.end(), {"--bind-to", "none"});
    argv.insert(argv.end(), {"-n", std::to_string(ranks)});
  } else {
    argv = base_;
    // A step of its own CPUs (--exact), so that steps on disjoint slots run at once; on the node
    // this process runs on, whose slots the caller counts; one rank failing ends the step.
    argv.insert(argv.end(), {"--exact", "--nodes=1", "--ntasks=" + std::to_string(ranks), "--kill-on-bad-exit=1"});
    if (!slurm_.node.empty() && !Has(argv, "--nodelist") && !Has(argv, "-w")) argv.push_back("--nodelist=" + slurm_.node);
    if (!name.empty() && !Has(argv, "--job-name") && !Has(argv, "-J")) argv.push_back("--job-name=" + name);
    // CPU devices may be more than the allocation's CPUs (ranks share cores): Slurm would refuse.
    if (slurm_.cpus_on_node > 0 && ranks > slurm_.cpus_on_node && !Has(argv, "--overcommit") && !Has(argv, "-O"))
      argv.push_back("--overcommit");
    // Without --mem a step takes all of the job's memory and every other step waits for it;
    // give each step its slots' share. (Memory per CPU, or none allocated: nothing to split.)
    if (slurm_.mem_per_node_mb > 0 && node_slots > 0 && !Has(argv, "--mem") && !Has(argv, "--mem-per-cpu"))
      argv.push_back("--mem=" + std::to_string(std::max(1LL, slurm_.mem_per_node_mb * ranks / node_slots)) + "M");
  }
  argv.insert(argv.end(), program.begin(), program.end());
  return argv;
}

Status Launcher::CheckUsable(int ranks_needed) const {
  if (kind_ == LaunchKind::kMpirun && ranks_needed <= 1) return Status::Ok();
  const std::string first = base_.empty() ? "" : base_[0];
  if (!first.empty() && OnPath(first)) return Status::Ok();
  if (kind_ == LaunchKind::kSrun)
    return Status::UserError("--launcher: '" + first + "' is not a command here, but this is Slurm job " +
                             (slurm_.job_id.empty() ? "?" : slurm_.job_id) +
                             "; run where Slurm's client commands are installed, or pass --launcher \"mpirun ...\"");
  return Status::UserError("--launcher: '" + first +
                           "' is not a command here; ranks on several devices start with it (install Open MPI, or pass "
                           "--launcher \"PATH/mpirun ARGS\")");
}

std::string Launcher::Describe() const {
  std::string d = Program(base_);
  if (kind_ == LaunchKind::kSrun && slurm_.inside()) d += " in Slurm job " + slurm_.job_id;
  return d;
}

bool OnPath(const std::string& cmd) {
  if (cmd.empty()) return false;
  if (cmd.find('/') != std::string::npos) return ::access(cmd.c_str(), X_OK) == 0;
  std::istringstream dirs(Env("PATH"));
  std::string d;
  while (std::getline(dirs, d, ':'))
    if (!d.empty() && ::access((d + "/" + cmd).c_str(), X_OK) == 0) return true;
  return false;
}

}  // namespace saturn
