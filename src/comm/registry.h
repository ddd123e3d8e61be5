// The one place that knows which backends this saturn was built with (CMake options
// SATURN_USE_MPI / _CUDA / _NCCL; the only #ifdefs of the code base are in registry.cc).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "comm/process_group.h"

namespace saturn {

// This process's place among the ranks a launcher started, and how to talk to them. Destroy the
// tensor groups before the control communicator (MPI is finalized with it): members are
// declared in that order.
struct World {
  std::unique_ptr<Communicator> control;
  std::shared_ptr<ProcessGroup> cpu;  // tensor collectives for CPU tensors over every rank
  int local_rank = 0;                 // among the ranks on this node (the launcher says)
  std::string host;
  int rank() const { return control->rank(); }
  int size() const { return control->size(); }
  // "rank 1 of 4 on node7" for a launched world; "" for a process alone.
  std::string label() const;
};

// This process's world, made on the first call and kept until the process exits (MPI can be
// initialized once only, and a failing rank must still reach AbortWorld after its command
// returned): MPI when a launcher (mpirun, srun) started this process and saturn has MPI; a
// process alone otherwise. Asking for several ranks without MPI in the build is a user error.
Result<World*> GetWorld();

// A tensor group over the world's ranks for tensors on `device` ("cpu" or "cuda"; for cuda,
// device_index is this rank's GPU): MPI (or the group of one) for CPU tensors, NCCL for CUDA
// tensors. A backend this build lacks is a user error that says how to get it.
Result<std::shared_ptr<ProcessGroup>> MakeTensorGroup(World& world, const std::string& device, int device_index = 0);

// Makes CUDA device `index` this process's current device (before any CUDA work), so that
// NCCL and anything allocated without an explicit index land there. Does nothing where the
// build has no CUDA runtime (LibTorch still places tensors by their device index).
Status BindCudaDevice(int index);

// What a profile says it measured on: the model of this machine's CPU ("cpu") or of its first
// visible GPU ("cuda"); "" where it cannot tell (a build without CUDA, no "model name" in
// /proc/cpuinfo).
Result<std::string> DeviceName(const std::string& device);

// The most memory LibTorch's CUDA caching allocator reserved on `device` since the last
// ResetCudaPeak (what must fit on the GPU, the CUDA context aside), in bytes; 0 (unknown) where
// LibTorch was built without CUDA.
long long CudaPeakReservedBytes(int device);
void ResetCudaPeak(int device);

// The backends compiled in, for `saturn --version`: e.g. {"MPI", "CUDA", "NCCL"}.
std::vector<std::string> CompiledBackends();

// Ends every rank of a launched world at once (MPI_Abort): after one rank failed, the others
// may wait forever in a collective. Does nothing for a process alone.
void AbortWorld(int exit_code);

}  // namespace saturn
