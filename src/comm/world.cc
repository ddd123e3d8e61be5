// Picks the backend for the world: MPI under a launcher, else a single process.
#include <cstdlib>
#include <string>

#include "comm/communicator.h"

namespace saturn {

#ifdef SATURN_MPI
std::unique_ptr<Communicator> MakeMpiCommunicator(Status* status);
#endif

namespace {

// The world size a launcher announced in the environment (Open MPI, PMIx, Slurm), or 1.
int LaunchedSize() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "SLURM_NTASKS"}) {
    const char* v = std::getenv(var);
    if (v && std::atoi(v) > 0) return std::atoi(v);
  }
  return 1;
}

}  // namespace

Result<std::unique_ptr<Communicator>> MakeWorldCommunicator() {
  const int size = LaunchedSize();
#ifdef SATURN_MPI
  if (size > 1 || std::getenv("OMPI_COMM_WORLD_SIZE")) {
    Status st = Status::Ok();
    std::unique_ptr<Communicator> c = MakeMpiCommunicator(&st);
    if (!st.ok()) return st;
    return c;
  }
#else
  if (size > 1)
    return Status::UserError("started as one of " + std::to_string(size) + " ranks, but this saturn was built "
                             "without MPI; install Open MPI (scripts/setup.sh) and rebuild");
#endif
  return MakeSingleProcessCommunicator();
}

}  // namespace saturn
