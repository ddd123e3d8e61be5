// Peak device memory from LibTorch's CUDA caching allocator. CMake adds this file only when
// LibTorch itself was built with CUDA (it needs libc10_cuda), whatever SATURN_USE_CUDA says.
#include <c10/cuda/CUDACachingAllocator.h>

namespace saturn {

// Memory the allocator reserved from the device (what must fit), not the smaller amount handed
// to tensors: StatArray index 0 is StatType::AGGREGATE (all pools) in LibTorch 1.13 and 2.x.
long long TorchCudaPeakReservedBytes(int device) {
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device));
  return static_cast<long long>(stats.reserved_bytes[0].peak);
}

void TorchCudaResetPeak(int device) { c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(device)); }

}  // namespace saturn
