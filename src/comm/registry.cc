#include "comm/registry.h"

#include <unistd.h>

#include <cstdlib>

#include "comm/thread_group.h"
#include "util/threads.h"

#ifdef SATURN_USE_MPI
#include <mpi.h>
#endif

namespace saturn {

#ifdef SATURN_USE_MPI
std::unique_ptr<Communicator> MakeMpiCommunicator(Status* status);
Result<std::shared_ptr<ProcessGroup>> MakeMpiWorldGroup();
#endif
#ifdef SATURN_USE_CUDA
Status CudaSetDevice(int index);
Status CudaDeviceName(int index, std::string* name);
#endif
#ifdef SATURN_TORCH_CUDA
long long TorchCudaPeakReservedBytes(int device);
void TorchCudaResetPeak(int device);
#endif
#ifdef SATURN_USE_NCCL
Result<std::shared_ptr<ProcessGroup>> MakeNcclGroup(Communicator& control, int device);
#endif

namespace {

int EnvInt(std::initializer_list<const char*> vars, int fallback) {
  for (const char* var : vars) {
    const char* v = std::getenv(var);
    if (v && *v) return std::atoi(v);
  }
  return fallback;
}

// The world size a launcher announced in the environment (Open MPI, PMI, an srun step), or 1.
// A Slurm batch script or salloc shell also has SLURM_NTASKS (the allocation's) and, from Slurm
// 26.05, SLURM_STEP_ID (the batch step's), but it is no rank: only srun's tasks have
// SLURM_STEP_NUM_TASKS.
int LaunchedSize() { return std::max(1, EnvInt({"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"}, 1)); }

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "?";
  return buf;
}

}  // namespace

std::string World::label() const {
  if (size() <= 1) return "";
  return "rank " + std::to_string(rank()) + " of " + std::to_string(size()) + " on " + host;
}

namespace {

Result<World> MakeWorld() {
  World w;
  w.host = HostName();
  w.local_rank = EnvInt({"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "PMIX_LOCAL_RANK", "MPI_LOCALRANKID"}, 0);
  const int size = LaunchedSize();
#ifdef SATURN_USE_MPI
  if (size > 1 || std::getenv("OMPI_COMM_WORLD_SIZE")) {
    Status st = Status::Ok();
    w.control = MakeMpiCommunicator(&st);
    if (!st.ok()) return st;
    if (size > 1 && w.control->size() != size)
      return Status::UserError("the launcher started " + std::to_string(size) + " ranks, but MPI sees " +
                               std::to_string(w.control->size()) +
                               ": MPI is not wired to the launcher (under srun: --mpi=pmix, or MpiDefault=pmix in "
                               "slurm.conf; under mpirun: the same MPI saturn was built with)");
    Result<std::shared_ptr<ProcessGroup>> g = MakeMpiWorldGroup();
    if (!g.ok()) return g.status();
    w.cpu = *g;
    return w;
  }
#else
  if (size > 1)
    return Status::UserError("started as one of " + std::to_string(size) + " ranks, but this saturn was built "
                             "without MPI; install Open MPI (scripts/setup.sh) and rebuild with -DSATURN_USE_MPI=ON");
#endif
  w.control = MakeSingleProcessCommunicator();
  w.cpu = MakeThreadGroups(1)[0];
  return w;
}

}  // namespace

Result<World*> GetWorld() {
  static Result<World> world = MakeWorld();
  if (!world.ok()) return world.status();
  return &*world;
}

Result<std::shared_ptr<ProcessGroup>> MakeTensorGroup(World& world, const std::string& device, int device_index) {
  if (device == "cpu") return world.cpu;
  if (device != "cuda") return Status::UserError("unknown device '" + device + "'; expected cpu or cuda");
#ifdef SATURN_USE_NCCL
  return MakeNcclGroup(*world.control, device_index);
#else
  (void)device_index;
  if (world.size() == 1) return world.cpu;  // alone: no tensor ever crosses to another rank
  return Status::UserError("CUDA tensors across ranks need NCCL, and this saturn was built without it; install "
                           "NCCL (or point NCCL_ROOT at it) and rebuild with -DSATURN_USE_NCCL=ON");
#endif
}

Status BindCudaDevice(int index) {
#ifdef SATURN_USE_CUDA
  return CudaSetDevice(index);
#else
  (void)index;
  return Status::Ok();
#endif
}

Result<std::string> DeviceName(const std::string& device) {
  if (device != "cuda") return CpuModelName();
#ifdef SATURN_USE_CUDA
  std::string name;
  SATURN_RETURN_IF_ERROR(CudaDeviceName(0, &name));
  return name;
#else
  return std::string();
#endif
}

long long CudaPeakReservedBytes(int device) {
#ifdef SATURN_TORCH_CUDA
  return TorchCudaPeakReservedBytes(device);
#else
  (void)device;
  return 0;
#endif
}

void ResetCudaPeak(int device) {
#ifdef SATURN_TORCH_CUDA
  TorchCudaResetPeak(device);
#else
  (void)device;
#endif
}

std::vector<std::string> CompiledBackends() {
  std::vector<std::string> out;
#ifdef SATURN_USE_MPI
  out.push_back("MPI");
#endif
#ifdef SATURN_USE_CUDA
  out.push_back("CUDA");
#endif
#ifdef SATURN_USE_NCCL
  out.push_back("NCCL");
#endif
  return out;
}

void AbortWorld(int exit_code) {
  if (AgreedFailure()) return;  // every rank is stopping already
#ifdef SATURN_USE_MPI
  int initialized = 0, finalized = 0, size = 1;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized) return;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size > 1) MPI_Abort(MPI_COMM_WORLD, exit_code);
#else
  (void)exit_code;
#endif
}

}  // namespace saturn
