// Tensor collectives among the ranks of one job: the data plane beside Communicator's bytes.
// Backends: MPI (CPU tensors), NCCL (CUDA tensors), and in-process threads (one rank per thread:
// unit tests, and the group of one that a single process trains in). comm/registry.h makes them.
//
// Contract for every operation:
// - Every rank of the group issues the same operations in the same order (as MPI and NCCL
//   require); tensors are contiguous, on the group's device, with equal dtype and sizes across
//   ranks where the operation says so.
// - Operations are asynchronous: the call returns a Work at once and the transfer may run in the
//   background (so gradient buckets go out while backward goes on). Until Wait() returns, the
//   caller keeps the tensors alive and neither reads the outputs nor writes the inputs.
// - Wait() returns the backend's error, if any, naming the operation and the library's message.
//   A group whose operation failed is unusable afterwards.
// - Reductions sum in rank order on the thread backend (bitwise reproducible); MPI and NCCL sum
//   in their own order.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "util/status.h"

namespace saturn {

enum class ReduceOp { kSum, kMax };

class Work {
 public:
  virtual ~Work() = default;
  // Blocks until the operation is done (on CUDA: until the current stream is ordered after it).
  virtual Status Wait() = 0;
};
using WorkPtr = std::shared_ptr<Work>;

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;

  // t = op over every rank's t, in place.
  virtual WorkPtr AllReduce(const at::Tensor& t, ReduceOp op = ReduceOp::kSum) = 0;
  // in: size() equal chunks of out's numel; out = the sum over ranks of chunk rank().
  virtual WorkPtr ReduceScatter(const at::Tensor& out, const at::Tensor& in) = 0;
  // out: size() chunks of in's numel; chunk r = rank r's in.
  virtual WorkPtr AllGather(const at::Tensor& out, const at::Tensor& in) = 0;
  // t = root's t on every rank.
  virtual WorkPtr Broadcast(const at::Tensor& t, int root) = 0;
  // Point to point, matched by (peer, tag) in issue order. A Send completes without waiting for
  // its Recv only as far as the backend buffers it: issue both sides before waiting on either.
  virtual WorkPtr Send(const at::Tensor& t, int dst, int tag) = 0;
  virtual WorkPtr Recv(const at::Tensor& t, int src, int tag) = 0;

  // Collective over this group: the ranks that pass the same color form a new group, ordered
  // by their rank here (a job's ranks when one launch runs several jobs). color < 0: this rank
  // joins none and gets nullptr.
  virtual Result<std::shared_ptr<ProcessGroup>> Split(int color) = 0;
};

// Waits for every work in order; the first error wins.
Status WaitAll(const std::vector<WorkPtr>& works);

// A Work that is already done with the given status (backends that finish in the call).
WorkPtr DoneWork(Status status = Status::Ok());

}  // namespace saturn
