// The launcher's command lines: mpirun for ranks on this node, srun job steps inside a Slurm
// allocation (their own CPUs, pinned to this node, memory shared out so steps run side by side).
// tests/scripts/slurm_profile.sh runs them under a real Slurm.
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "launch/hosts.h"
#include "launch/launcher.h"
#include "util/subprocess.h"

namespace {

using saturn::Launcher;
using saturn::LaunchKind;
using saturn::SlurmAllocation;

const std::vector<std::string> kProgram = {"/bin/saturn", "profile-trial", "s.yaml"};

std::string Line(const Launcher& l, int ranks, int slots = 4) {
  return saturn::ShellLine(l.Command(ranks, slots, kProgram, "saturn-t"));
}

SlurmAllocation Inside(int cpus, long long mem_mb) {
  SlurmAllocation s;
  s.job_id = "42";
  s.node = "node7";
  s.cpus_on_node = cpus;
  s.mem_per_node_mb = mem_mb;
  return s;
}

}  // namespace

TEST_CASE("mpirun: one rank is the program alone / more ranks get -n and Open MPI no binding of its own", "[launch]") {
  Launcher l = Launcher::Make("mpirun --oversubscribe", SlurmAllocation{});
  CHECK(l.kind() == LaunchKind::kMpirun);
  CHECK(Line(l, 1) == "/bin/saturn profile-trial s.yaml");
  CHECK(Line(l, 3) == "mpirun --oversubscribe --bind-to none -n 3 /bin/saturn profile-trial s.yaml");
  // The user's own binding wins; another MPI's launcher gets no Open MPI flag.
  CHECK(Line(Launcher::Make("mpirun --bind-to core", {}), 2) == "mpirun --bind-to core -n 2 /bin/saturn profile-trial s.yaml");
  CHECK(Line(Launcher::Make("/opt/mpich/bin/mpiexec.hydra", {}), 2) ==
        "/opt/mpich/bin/mpiexec.hydra -n 2 /bin/saturn profile-trial s.yaml");
  CHECK(l.Describe() == "mpirun");
}

TEST_CASE("srun inside an allocation: a step of its slots' CPUs on this node, memory shared out by slots", "[launch]") {
  Launcher l = Launcher::Make("", Inside(8, 64000));
  REQUIRE(l.kind() == LaunchKind::kSrun);
  CHECK(l.Describe() == "srun in Slurm job 42");
  // Even one rank is a step: the allocation accounts for it and cancels it with the job.
  CHECK(Line(l, 1) == "srun --exact --nodes=1 --ntasks=1 --kill-on-bad-exit=1 --cpus-per-task=2 --nodelist=node7 "
                      "--job-name=saturn-t --mem=16000M /bin/saturn profile-trial s.yaml");
  CHECK(Line(l, 2) == "srun --exact --nodes=1 --ntasks=2 --kill-on-bad-exit=1 --cpus-per-task=2 --nodelist=node7 "
                      "--job-name=saturn-t --mem=32000M /bin/saturn profile-trial s.yaml");
  // Fewer CPUs than device slots (CPU devices sharing cores): steps share the CPUs (else each
  // would wait for the others), and ranks beyond the CPUs overcommit.
  const std::string over = Line(Launcher::Make("", Inside(2, 0)), 4);
  CHECK_THAT(over, Catch::Contains("--ntasks=4") && Catch::Contains("--overlap") && Catch::Contains("--overcommit") &&
                       !Catch::Contains("--exact") && !Catch::Contains("--cpus-per-task") && !Catch::Contains("--mem"));
  CHECK_THAT(Line(Launcher::Make("", Inside(2, 0)), 1), Catch::Contains("--overlap") && !Catch::Contains("--overcommit"));
  CHECK_THAT(Line(Launcher::Make("", Inside(4, 0)), 2),
             !Catch::Contains("--overlap") && Catch::Contains("--exact") && Catch::Contains("--cpus-per-task=1"));
  // GPUs: one per rank, or every step would get all of the job's GPUs and wait for the others.
  CHECK_THAT(Line(Launcher::Make("", Inside(32, 0), "cuda"), 2), Catch::Contains("--gpus-per-task=1"));
  CHECK_THAT(Line(l, 2), !Catch::Contains("--gpus-per-task"));
  // Started as a step itself (srun saturn profile): the trials' steps overlap it.
  SlurmAllocation step = Inside(8, 0);
  step.in_step = true;
  CHECK_THAT(Line(Launcher::Make("", step), 2), Catch::Contains("--overlap"));
  // The user's flags win over the defaults they replace.
  const std::string own = Line(Launcher::Make("srun --mpi=pmix -w node3 --mem-per-gpu=20G -c 4", Inside(8, 64000)), 2);
  CHECK_THAT(own, Catch::StartsWith("srun --mpi=pmix -w node3 --mem-per-gpu=20G -c 4 --exact") &&
                      !Catch::Contains("--nodelist") && !Catch::Contains("--mem=") && !Catch::Contains("--cpus-per-task"));
}

TEST_CASE("the default launcher: srun inside Slurm, else $SATURN_MPIRUN, else mpirun / a missing one is named",
          "[launch]") {
  ::unsetenv("SATURN_MPIRUN");
  CHECK(Launcher::Make("", {}).base() == std::vector<std::string>{"mpirun"});
  ::setenv("SATURN_MPIRUN", "mpirun --oversubscribe", 1);
  CHECK(Launcher::Make("", {}).base() == std::vector<std::string>{"mpirun", "--oversubscribe"});
  CHECK(Launcher::Make("", Inside(4, 0)).base() == std::vector<std::string>{"srun"});
  // Outside Slurm, srun asked for by name still makes steps, but nothing launches with it: every
  // step would queue as a Slurm job of its own.
  CHECK(Launcher::Make("srun", {}).kind() == LaunchKind::kSrun);
  const saturn::Status outside = Launcher::Make("sh", {}).CheckUsable(1);
  CHECK(outside.ok());
  const saturn::Status srun_outside = Launcher::Make("srun", {}).CheckUsable(1);
  REQUIRE_FALSE(srun_outside.ok());
  CHECK(srun_outside.exit_code() == 2);
  CHECK_THAT(srun_outside.message(), Catch::Contains("this is none") && Catch::Contains("SLURM_JOB_ID") && Catch::Contains("sbatch"));
  ::unsetenv("SATURN_MPIRUN");

  Launcher missing = Launcher::Make("/nonexistent/mpirun -x", {});
  CHECK(missing.CheckUsable(1).ok());  // one-rank trials need no launcher
  CHECK_FALSE(missing.CheckUsable(1, /*remote_hosts=*/true).ok());  // but one rank on another host does
  saturn::Status st = missing.CheckUsable(2);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::Contains("/nonexistent/mpirun") && Catch::Contains("--launcher"));
  saturn::Status srun = Launcher::Make("/nonexistent/srun", Inside(4, 0)).CheckUsable(1);
  REQUIRE_FALSE(srun.ok());
  CHECK_THAT(srun.message(), Catch::Contains("Slurm job 42"));
  CHECK(Launcher::Make("sh", {}).CheckUsable(2).ok());
}

TEST_CASE("the allocation is read from Slurm's environment", "[launch]") {
  ::setenv("SLURM_JOB_ID", "77", 1);
  ::setenv("SLURMD_NODENAME", "gpu3", 1);
  ::setenv("SLURM_CPUS_ON_NODE", "16", 1);
  ::setenv("SLURM_MEM_PER_NODE", "not a number", 1);
  SlurmAllocation s = SlurmAllocation::FromEnvironment();
  CHECK(s.inside());
  CHECK(s.job_id == "77");
  CHECK(s.node == "gpu3");
  CHECK(s.cpus_on_node == 16);
  CHECK(s.mem_per_node_mb == 0);
  CHECK_FALSE(s.in_step);
  CHECK(s.node_list.empty());
  ::setenv("SLURM_JOB_NODELIST", "gpu[3-4]", 1);
  CHECK(SlurmAllocation::FromEnvironment().node_list == "gpu[3-4]");
  ::unsetenv("SLURM_JOB_NODELIST");
  // An salloc shell on a login node: no node of its own, the allocation's CPUs per node instead;
  // a number too large for anything is clamped, not overflowed.
  ::unsetenv("SLURMD_NODENAME");
  ::unsetenv("SLURM_CPUS_ON_NODE");
  ::setenv("SLURM_JOB_CPUS_PER_NODE", "24(x3),12", 1);
  ::setenv("SLURM_MEM_PER_NODE", "99999999999999999999999", 1);
  ::setenv("SLURM_STEP_NUM_TASKS", "1", 1);
  s = SlurmAllocation::FromEnvironment();
  CHECK(s.node.empty());
  CHECK(s.cpus_on_node == 24);
  CHECK(s.mem_per_node_mb == 1LL << 31);
  CHECK(s.in_step);
  for (const char* v : {"SLURM_JOB_ID", "SLURM_JOB_CPUS_PER_NODE", "SLURM_MEM_PER_NODE", "SLURM_STEP_NUM_TASKS"})
    ::unsetenv(v);
  CHECK_FALSE(SlurmAllocation::FromEnvironment().inside());
}

using saturn::ExpandHostList;
using saturn::MapNodes;
using saturn::NodeAddress;

TEST_CASE("Slurm's host lists expand in order, padded, bracket groups multiplied / malformed ones are named", "[launch]") {
  auto hosts = [](const std::string& list) {
    saturn::Result<std::vector<std::string>> r = ExpandHostList(list);
    REQUIRE(r.ok());
    return *r;
  };
  using V = std::vector<std::string>;
  CHECK(hosts("node7") == V{"node7"});
  CHECK(hosts("gpu[01-03,7],login") == V{"gpu01", "gpu02", "gpu03", "gpu7", "login"});
  CHECK(hosts("r[1-2]n[08-09]") == V{"r1n08", "r1n09", "r2n08", "r2n09"});
  CHECK(hosts("a[9-10]-ib") == V{"a9-ib", "a10-ib"});
  CHECK(hosts("x[098-101]") == V{"x098", "x099", "x100", "x101"});
  for (const std::string bad : {"", "n[1-3", "n1-3]", "n[3-1]", "n[a-b]", "n[]", "a,,b", "n[1-99999999]"}) {
    saturn::Result<std::vector<std::string>> r = ExpandHostList(bad);
    INFO(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().exit_code() == 2);
    CHECK_THAT(r.status().message(), Catch::Contains("host list '" + bad + "'") && Catch::Contains("Slurm's syntax"));
  }
}

TEST_CASE("nodes map to hosts: this machine for one node, names or host: under mpirun, the allocation's nodes "
          "by name or in order under srun", "[launch]") {
  auto targets = [](const std::vector<NodeAddress>& nodes, LaunchKind kind, const SlurmAllocation& s) {
    saturn::Result<saturn::NodeMap> m = MapNodes(nodes, kind, s);
    REQUIRE(m.ok());
    std::string out;
    for (const auto& t : m->nodes) out += (out.empty() ? "" : " ") + (t.reachable ? (t.host.empty() ? "." : t.host) : "-");
    return out;
  };
  const SlurmAllocation none;
  CHECK(targets({{"local", ""}}, LaunchKind::kMpirun, none) == ".");
  CHECK(targets({{"local", "gpu9"}}, LaunchKind::kMpirun, none) == "gpu9");
  CHECK(targets({{"a", ""}, {"b", "127.0.0.1"}}, LaunchKind::kMpirun, none) == "a 127.0.0.1");
  // Inside Slurm: the allocation's nodes by name when they all are there, else in order; nodes
  // beyond the allocation's are out of reach.
  SlurmAllocation s = Inside(8, 0);
  s.node_list = "gpu[1-2]";
  CHECK(targets({{"gpu2", ""}, {"gpu1", ""}}, LaunchKind::kSrun, s) == "gpu2 gpu1");
  CHECK(targets({{"a", ""}, {"b", ""}, {"c", ""}}, LaunchKind::kSrun, s) == "gpu1 gpu2 -");
  CHECK(targets({{"a", "gpu2"}, {"b", ""}}, LaunchKind::kSrun, s) == "gpu1 gpu2");
  // One node: the node this process runs on, as before.
  CHECK(targets({{"local", ""}}, LaunchKind::kSrun, s) == "node7");
  s.node_list.clear();  // an salloc shell without a node list: one node, where Slurm picks
  CHECK(targets({{"a", ""}, {"b", ""}}, LaunchKind::kSrun, s) == ". -");
  s.node_list = "gpu[2-";
  saturn::Result<saturn::NodeMap> bad = MapNodes({{"a", ""}}, LaunchKind::kSrun, s);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("SLURM_JOB_NODELIST of Slurm job 42"));
}

TEST_CASE("a launch on another node: mpirun --host H:K (one rank too), srun --nodelist", "[launch]") {
  const std::vector<std::string> prog = {"/bin/saturn", "run"};
  Launcher m = Launcher::Make("mpirun --oversubscribe", {});
  CHECK(saturn::ShellLine(m.Command(1, 4, prog, "j", "gpu2")) == "mpirun --oversubscribe --bind-to none --host gpu2:1 -n 1 /bin/saturn run");
  CHECK(saturn::ShellLine(m.Command(3, 4, prog, "j", "gpu2")) == "mpirun --oversubscribe --bind-to none --host gpu2:3 -n 3 /bin/saturn run");
  CHECK(saturn::ShellLine(m.Command(1, 4, prog, "j", "")) == "/bin/saturn run");
  // Across nodes: the first hosts take one more when the ranks do not share out evenly.
  CHECK(saturn::ShellLine(m.Command(10, 4, prog, "j", std::vector<std::string>{"a", "b", "c"})) ==
        "mpirun --oversubscribe --bind-to none --host a:4,b:3,c:3 -n 10 /bin/saturn run");
  const std::string even = saturn::ShellLine(Launcher::Make("", Inside(8, 0)).Command(4, 2, prog, "j", std::vector<std::string>{"a", "b"}));
  CHECK_THAT(even, Catch::Contains("--nodes=2 --ntasks=4 --ntasks-per-node=2 ") && Catch::Contains("--nodelist=a,b "));
  const std::string uneven = saturn::ShellLine(Launcher::Make("", Inside(8, 0)).Command(3, 2, prog, "j", std::vector<std::string>{"a", "b"}));
  CHECK_THAT(uneven, Catch::Contains("--nodes=2 --ntasks=3 ") && !Catch::Contains("--ntasks-per-node"));
  const std::string s = saturn::ShellLine(Launcher::Make("", Inside(8, 0)).Command(2, 4, prog, "j", "gpu2"));
  CHECK_THAT(s, Catch::Contains("--nodelist=gpu2") && !Catch::Contains("node7"));
}

TEST_CASE("each mpirun launch on this machine gets a session directory of its own / none for other hosts / srun "
          "steps with CPUs of their own say so",
          "[launch]") {
  const Launcher m = Launcher::Make("mpirun --oversubscribe", {});
  const std::string var = "OMPI_MCA_orte_tmpdir_base=";
  std::vector<std::string> dirs;
  for (const std::vector<std::string>& hosts :
       std::vector<std::vector<std::string>>{{""}, {"localhost"}, {"localhost", "127.0.0.1"}}) {
    const std::vector<std::string> env = m.Environment(hosts, 4);
    REQUIRE(env.size() == 1);
    REQUIRE(env[0].rfind(var, 0) == 0);
    dirs.push_back(env[0].substr(var.size()));
  }
  CHECK(dirs[0] != dirs[1]);
  CHECK(dirs[1] != dirs[2]);
  // One root per process, so that it can be removed at exit.
  for (const std::string& d : dirs) CHECK(d.rfind("/saturn-mpi." + std::to_string(::getpid()) + "/") != std::string::npos);
  CHECK(m.Environment({"localhost", "gpu7"}, 4).empty());
  // srun: --exact steps with CPUs of their own (8 CPUs, 4 slots) tell their ranks to keep the CPUs
  // Slurm bound them to; steps that share the node's 2 CPUs (--overlap) do not.
  CHECK(Launcher::Make("srun", Inside(8, 0)).Environment({""}, 4) == std::vector<std::string>{"SATURN_CPUS_BOUND=1"});
  CHECK(Launcher::Make("srun", Inside(2, 0)).Environment({""}, 4).empty());
}
