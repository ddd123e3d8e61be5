// CUDA device binding through the runtime API. CMake adds this file only with SATURN_USE_CUDA.
#include "comm/cuda_check.h"

namespace saturn {

Status CudaSetDevice(int index) {
  int count = 0;
  SATURN_CUDA_CHECK(cudaGetDeviceCount(&count));
  if (index < 0 || index >= count)
    return Status::UserError("local rank " + std::to_string(index) + " needs CUDA device " + std::to_string(index) +
                             ", but this node shows " + std::to_string(count) +
                             "; start at most one rank per visible GPU (check CUDA_VISIBLE_DEVICES)");
  SATURN_CUDA_CHECK(cudaSetDevice(index));
  return Status::Ok();
}

Status CudaDeviceName(int index, std::string* name) {
  cudaDeviceProp p;
  SATURN_CUDA_CHECK(cudaGetDeviceProperties(&p, index));
  *name = p.name;
  return Status::Ok();
}

}  // namespace saturn
