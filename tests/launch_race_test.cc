// Launches under a real mpirun started side by side, as the profiler packs trials and the
// orchestrator starts jobs. Open MPI 4 fails about one start in 500 (more on a loaded machine)
// when launches share its session directory ("File exists", orte_init failed): with
// Launcher::Environment each launch keeps it under a base of its own.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "launch/launcher.h"
#include "temp_dir.h"
#include "util/files.h"
#include "util/subprocess.h"

using saturn::Launcher;
using saturn::Subprocess;

TEST_CASE("mpirun launches side by side keep their session directories apart", "[launch][mpi]") {
  testutil::TempDir d;
  const Launcher l = Launcher::Make(SATURN_MPIRUN, {});
  // Each rank lists its launch's session directory, which exists only if mpirun put it there.
  const std::vector<std::string> rank = {"sh", "-c", "ls -d \"$OMPI_MCA_orte_tmpdir_base\"/ompi.*"};
  std::vector<Subprocess> procs;
  std::vector<std::string> logs, bases;
  for (int k = 0; k < 3; ++k) {
    const std::vector<std::string> env = l.Environment({""}, 1);
    REQUIRE(env.size() == 1);
    bases.push_back(env[0].substr(env[0].find('=') + 1));
    logs.push_back(d / ("launch-" + std::to_string(k) + ".log"));
    auto p = Subprocess::Start(l.Command(2, 4, rank, "apart"), logs.back(), 15, env);
    REQUIRE(p.ok());
    procs.push_back(std::move(*p));
  }
  for (size_t k = 0; k < procs.size(); ++k) {
    while (!procs[k].Poll()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const auto read = saturn::ReadFile(logs[k]);
    REQUIRE(read.ok());
    const std::string& log = *read;
    INFO("launch " << k << "'s log:\n" << log);
    CHECK(procs[k].exit_code() == 0);
    // Both ranks found it under this launch's base.
    size_t found = 0;
    for (size_t at = log.find(bases[k] + "/ompi."); at != std::string::npos; at = log.find(bases[k] + "/ompi.", at + 1))
      ++found;
    CHECK(found == 2);
  }
}
