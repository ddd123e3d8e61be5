#include "launch/launcher.h"

#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <sstream>

#include "util/subprocess.h"

namespace saturn {
namespace {

namespace fs = std::filesystem;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// A positive number the variable starts with ("2(x3),1" -> 2), clamped to 2^31; else 0.
long long EnvNumber(const char* name) {
  const std::string v = Env(name);
  errno = 0;
  char* end = nullptr;
  const long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || end == v.c_str() || n <= 0) return 0;
  return errno == ERANGE ? (1LL << 31) : std::min(n, 1LL << 31);
}

std::string Program(const std::vector<std::string>& argv) {
  return argv.empty() ? "" : std::filesystem::path(argv[0]).filename().string();
}

bool Has(const std::vector<std::string>& argv, const std::string& flag) {
  for (const auto& a : argv)
    if (a == flag || a.rfind(flag + "=", 0) == 0) return true;
  return false;
}

bool ThisMachine(const std::string& host) {
  if (host.empty() || host == "localhost" || host == "127.0.0.1" || host == "::1") return true;
  char name[256] = {};
  return ::gethostname(name, sizeof name - 1) == 0 && host == name;
}

// This process's directory of session directory bases, made on first use, removed at exit.
class SessionRoot {
 public:
  std::string Next() {
    std::lock_guard<std::mutex> lock(mu_);
    if (root_.empty()) {
      std::error_code ec;
      fs::path tmp = fs::temp_directory_path(ec);
      if (ec) tmp = "/tmp";
      root_ = (tmp / ("saturn-mpi." + std::to_string(::getpid()))).string();
    }
    return root_ + "/" + std::to_string(++launches_);  // mpirun makes it
  }
  ~SessionRoot() {
    std::error_code ec;
    if (!root_.empty() && owner_ == ::getpid()) fs::remove_all(root_, ec);
  }

 private:
  std::mutex mu_;
  std::string root_;
  long long launches_ = 0;
  const pid_t owner_ = ::getpid();
};

}  // namespace

SlurmAllocation SlurmAllocation::FromEnvironment() {
  SlurmAllocation s;
  s.job_id = Env("SLURM_JOB_ID");
  // A batch script has these; an salloc shell on a login node does not: then the allocation's
  // CPUs on its first node, and no node to pin steps to (Slurm picks).
  s.node = Env("SLURMD_NODENAME");
  s.node_list = Env("SLURM_JOB_NODELIST");
  s.cpus_on_node = int(EnvNumber("SLURM_CPUS_ON_NODE"));
  if (s.cpus_on_node == 0) s.cpus_on_node = int(EnvNumber("SLURM_JOB_CPUS_PER_NODE"));
  s.mem_per_node_mb = EnvNumber("SLURM_MEM_PER_NODE");
  s.in_step = !Env("SLURM_STEP_NUM_TASKS").empty();
  return s;
}

Launcher Launcher::Make(const std::string& command, const SlurmAllocation& slurm, const std::string& device) {
  Launcher l;
  l.slurm_ = slurm;
  l.device_ = device;
  std::string cmd = command;
  if (cmd.empty()) cmd = slurm.inside() ? "srun" : (Env("SATURN_MPIRUN").empty() ? "mpirun" : Env("SATURN_MPIRUN"));
  l.base_ = SplitWords(cmd);
  l.kind_ = Program(l.base_) == "srun" ? LaunchKind::kSrun : LaunchKind::kMpirun;
  return l;
}

std::vector<std::string> Launcher::Command(int ranks, int node_slots, const std::vector<std::string>& program,
                                           const std::string& name, const std::string& host) const {
  if (host.empty() && kind_ == LaunchKind::kMpirun && ranks <= 1) return program;
  return Command(ranks, node_slots, program, name, std::vector<std::string>{host});
}

std::vector<std::string> Launcher::Command(int ranks, int node_slots, const std::vector<std::string>& program,
                                           const std::string& name, const std::vector<std::string>& hosts) const {
  assert(!hosts.empty() && ranks >= int(hosts.size()));
  assert((hosts.size() == 1 || std::none_of(hosts.begin(), hosts.end(), [](const std::string& h) { return h.empty(); })));
  // As even as can be, the first nodes one more (10 ranks on 3 nodes: 4, 3, 3).
  const int nodes = int(hosts.size()), per_node = (ranks + nodes - 1) / nodes;
  std::string host_list;  // mpirun's a:4,b:3,c:3, or srun's a,b,c
  for (int k = 0; k < nodes; ++k)
    host_list += (k ? "," : "") + hosts[size_t(k)] +
                 (kind_ == LaunchKind::kMpirun ? ":" + std::to_string(ranks / nodes + (k < ranks % nodes)) : "");
  std::vector<std::string> argv = base_;
  if (kind_ == LaunchKind::kMpirun) {
    // Open MPI binds ranks to cores by default; each rank binds itself to its slot's cores.
    const std::string p = Program(argv);
    if ((p == "mpirun" || p == "mpiexec" || p == "orterun") && !Has(argv, "--bind-to"))
      argv.insert(argv.end(), {"--bind-to", "none"});
    // Open MPI's syntax: each host and the slots taken there (its ssh launcher starts them).
    if (!hosts[0].empty()) argv.insert(argv.end(), {"--host", host_list});
    argv.insert(argv.end(), {"-n", std::to_string(ranks)});
  } else {
    // Each rank's share of the node's CPUs, and no more than that (--exact), so that steps on
    // disjoint slots run side by side. With fewer CPUs than device slots (CPU devices sharing
    // cores) no step can have CPUs of its own: steps share them (--overlap), and ranks beyond the
    // CPUs need --overcommit.
    const bool sharing = SharesCpus(node_slots);
    if (!sharing) argv.push_back("--exact");
    argv.insert(argv.end(), {"--nodes=" + std::to_string(nodes), "--ntasks=" + std::to_string(ranks)});
    // Uneven: Slurm's block distribution fills the first nodes first, as the host list above.
    if (nodes > 1 && ranks % nodes == 0) argv.push_back("--ntasks-per-node=" + std::to_string(per_node));
    argv.push_back("--kill-on-bad-exit=1");
    if (sharing && !Has(argv, "--overlap")) argv.push_back("--overlap");
    if (sharing && per_node > slurm_.cpus_on_node && !Has(argv, "--overcommit") && !Has(argv, "-O"))
      argv.push_back("--overcommit");
    if (!sharing && slurm_.cpus_on_node > 0 && node_slots > 0 && !Has(argv, "--cpus-per-task") && !Has(argv, "-c"))
      argv.push_back("--cpus-per-task=" + std::to_string(std::max(1, slurm_.cpus_on_node / node_slots)));
    // One GPU per rank: without it every step gets all of the job's GPUs and steps queue.
    if (device_ == "cuda" && !Has(argv, "--gpus-per-task") && !Has(argv, "--gres")) argv.push_back("--gpus-per-task=1");
    // Steps started from within a step (`srun saturn profile`) share its resources.
    if (slurm_.in_step && !sharing && !Has(argv, "--overlap")) argv.push_back("--overlap");
    // On the nodes asked for, else the node this process runs on, whose slots the caller counts.
    const std::string on = hosts[0].empty() ? slurm_.node : host_list;
    if (!on.empty() && !Has(argv, "--nodelist") && !Has(argv, "-w")) argv.push_back("--nodelist=" + on);
    if (!name.empty() && !Has(argv, "--job-name") && !Has(argv, "-J")) argv.push_back("--job-name=" + name);
    // Without --mem a step takes all of the job's memory and every other step waits for it;
    // give each step its slots' share (per node). (Memory per CPU or GPU, or none allocated: no split.)
    if (slurm_.mem_per_node_mb > 0 && node_slots > 0 && !Has(argv, "--mem") && !Has(argv, "--mem-per-cpu") &&
        !Has(argv, "--mem-per-gpu"))
      argv.push_back("--mem=" + std::to_string(std::max(1LL, slurm_.mem_per_node_mb / node_slots * per_node)) + "M");
  }
  argv.insert(argv.end(), program.begin(), program.end());
  return argv;
}

std::vector<std::string> Launcher::Environment(const std::vector<std::string>& hosts, int node_slots) const {
  if (kind_ == LaunchKind::kSrun) {
    if (SharesCpus(node_slots)) return {};
    return {"SATURN_CPUS_BOUND=1"};
  }
  if (!std::all_of(hosts.begin(), hosts.end(), ThisMachine)) return {};
  static SessionRoot root;
  return {"OMPI_MCA_orte_tmpdir_base=" + root.Next()};
}

Status Launcher::CheckUsable(int ranks_needed, bool remote_hosts) const {
  if (kind_ == LaunchKind::kSrun && !slurm_.inside())
    return Status::UserError("--launcher srun: srun starts job steps inside a Slurm allocation, and this is none "
                             "(SLURM_JOB_ID is unset), so every launch would queue as a Slurm job of its own, outside "
                             "the plan: run saturn inside one (sbatch scripts/slurm/sweep.sbatch, or salloc), or pass "
                             "--launcher mpirun");
  if (kind_ == LaunchKind::kMpirun && ranks_needed <= 1 && !remote_hosts) return Status::Ok();
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

std::string FormatSlots(const std::vector<int>& slots) {
  std::string s;
  for (int x : slots) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

Result<std::vector<int>> ParseSlots(const std::string& list) {
  std::vector<int> slots;
  std::istringstream in(list);
  std::string s;
  while (std::getline(in, s, ',')) {
    char* end = nullptr;
    const long v = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || v < 0 || v > 1 << 20 || std::count(slots.begin(), slots.end(), int(v)))
      return Status::UserError("--slots " + list + ": expected distinct device numbers separated by commas, e.g. 0,1");
    slots.push_back(int(v));
  }
  return slots;
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
