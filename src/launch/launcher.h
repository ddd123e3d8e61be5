// How ranks start on devices: the command line that starts K ranks of a program on this node,
// with mpirun (Open MPI or another MPI's launcher) or, inside a Slurm allocation, as an srun job
// step. `saturn profile` launches its trials with it; plan execution will launch jobs with it.
// Knows nothing of what the ranks run: each rank finds its device from its own arguments (the
// slots) and its local rank.
#pragma once

#include <string>
#include <vector>

#include "util/status.h"

namespace saturn {

// What a Slurm allocation's environment says about it; job_id is empty outside one.
struct SlurmAllocation {
  std::string job_id;              // SLURM_JOB_ID
  std::string node;                // SLURMD_NODENAME: the node this process runs on
  std::string node_list;           // SLURM_JOB_NODELIST, Slurm's hostlist syntax (launch/hosts.h)
  int cpus_on_node = 0;            // SLURM_CPUS_ON_NODE: this allocation's CPUs here
  long long mem_per_node_mb = 0;   // SLURM_MEM_PER_NODE; 0 when memory is not allocated per node
  bool in_step = false;            // this process is itself a job step's task (srun saturn ...)
  bool inside() const { return !job_id.empty(); }
  static SlurmAllocation FromEnvironment();
};

enum class LaunchKind { kMpirun, kSrun };

class Launcher {
 public:
  // `command` is the launcher and its own arguments ("mpirun --oversubscribe", "srun --mpi=pmix");
  // a first word named srun makes job steps, anything else is an mpirun-like launcher. Empty:
  // srun inside a Slurm allocation, else $SATURN_MPIRUN, else mpirun. `device` (cpu, cuda) is
  // what each rank takes: under srun, a cuda rank gets one GPU of the allocation.
  static Launcher Make(const std::string& command, const SlurmAllocation& slurm, const std::string& device = "cpu");

  // The command line that starts `program` as `ranks` ranks on one node, using `ranks` of its
  // `node_slots` device slots; `name` labels the step in Slurm's squeue. `host` is that node
  // (launch/hosts.h): "" is this machine, or under srun the node this process runs on. One rank
  // here under mpirun is the program alone; under Slurm every launch is a job step, so the
  // allocation accounts for it and places it.
  std::vector<std::string> Command(int ranks, int node_slots, const std::vector<std::string>& program,
                                   const std::string& name, const std::string& host = "") const;
  // The same across several nodes (none of them ""), ranks shared out as evenly as can be, the
  // first nodes one more: ranks fill the first host's, then the next's (mpirun --host a:K,b:K),
  // or one Slurm step over all.
  std::vector<std::string> Command(int ranks, int node_slots, const std::vector<std::string>& program,
                                   const std::string& name, const std::vector<std::string>& hosts) const;

  // What to add to the environment of one launch by Command() on `hosts` ("NAME=VALUE"). Open
  // MPI 4's mpirun makes its session directory (TMPDIR/ompi.HOST.UID) as it starts and removes it
  // as it ends; two starting at once on a machine race there, and one fails at start ("File
  // exists", orte_init failed). So each launch on this machine ("", localhost, its host name) gets
  // a session directory base of its own, under one of this process's, removed when it exits. Call
  // it once per launch. Nothing where a host is another machine (mpirun would make the directory
  // there and nobody would remove it). For srun steps that get CPUs of their own (--exact
  // --cpus-per-task, a node of `node_slots` device slots with a CPU each at least):
  // SATURN_CPUS_BOUND=1, so that a rank Slurm bound to those CPUs keeps them
  // (util/threads.h BindToSlotCores).
  std::vector<std::string> Environment(const std::vector<std::string>& hosts, int node_slots) const;
  // Inside Slurm: a node of `node_slots` device slots has fewer CPUs than slots, so steps on it
  // share CPUs (srun --overlap) rather than get their own (--exact).
  bool SharesCpus(int node_slots) const { return slurm_.cpus_on_node > 0 && slurm_.cpus_on_node < node_slots; }

  // The launcher is a command here (always true when no launch needs it: `ranks_needed` <= 1 on
  // this machine outside Slurm), and srun runs inside an allocation. The error says what to do.
  Status CheckUsable(int ranks_needed, bool remote_hosts = false) const;

  LaunchKind kind() const { return kind_; }
  const SlurmAllocation& slurm() const { return slurm_; }
  const std::vector<std::string>& base() const { return base_; }
  // "mpirun", "srun in Slurm job 12": how the profile and the logs say ranks were started.
  std::string Describe() const;

 private:
  LaunchKind kind_ = LaunchKind::kMpirun;
  std::vector<std::string> base_;
  SlurmAllocation slurm_;
  std::string device_ = "cpu";
};

// "0,2,3": the device slot of each rank on its node, as launches pass them (--slots); "" is none.
// Anything but distinct non-negative integers is a user error.
Result<std::vector<int>> ParseSlots(const std::string& list);
// The list as --slots takes it: "0,1".
std::string FormatSlots(const std::vector<int>& slots);

// True when `cmd` (a name looked up on PATH, or a path) can be executed.
bool OnPath(const std::string& cmd);

}  // namespace saturn
