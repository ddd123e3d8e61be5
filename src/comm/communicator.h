// Processes that work together on one job: a rank in [0, size) each. Backends sit behind this
// interface (a single process; MPI when saturn was built with it and runs under mpirun or srun);
// the #ifdefs live in this directory only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "util/status.h"

namespace saturn {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;
  // Every rank's bytes, in rank order, returned on every rank. Collective: all ranks call it.
  virtual Result<std::vector<std::string>> AllGather(const std::string& bytes) = 0;
  // Returns once every rank has called it.
  virtual Status Barrier() = 0;
};

// One process alone: rank 0 of 1.
std::unique_ptr<Communicator> MakeSingleProcessCommunicator();

// MPI_COMM_WORLD when this process was started by a launcher (mpirun, srun) with more than one
// rank and saturn has MPI; a single process otherwise. Asking for several ranks without MPI in
// the build is a user error.
Result<std::unique_ptr<Communicator>> MakeWorldCommunicator();

}  // namespace saturn
