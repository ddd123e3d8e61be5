// Processes that work together: a rank in [0, size) each. This is the control plane (bytes: who
// does what, file names, small results); tensors travel through ProcessGroup (process_group.h).
// Backends sit behind this interface: a single process, and MPI when saturn was built with it
// and runs under mpirun or srun. comm/registry.h makes them.
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

// Root's bytes on every rank (built on AllGather).
Result<std::string> Broadcast(Communicator& c, const std::string& bytes, int root);
// The first failure among every rank's status (so all ranks stop together when one cannot go
// on: a missing file on one node, a full disk). Rank 0 gets the message, naming the rank it came
// from; the other ranks get the same exit code with an empty message: it is reported once.
Status AgreeOnStatus(Communicator& c, const Status& mine);
// Whether an AgreeOnStatus in this process returned a failure: every rank knows it and is
// stopping on its own, so nobody needs to abort the others.
bool AgreedFailure();

}  // namespace saturn
