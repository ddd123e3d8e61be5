#include "train/autocast.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#define SATURN_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace saturn {

Autocast::Autocast(bool on, c10::DeviceType device) : on_(on), device_(device) {
  if (!on_) return;
#if SATURN_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_dtype(device_, at::kBFloat16);
  at::autocast::set_autocast_enabled(device_, true);
#else
  if (device_ == c10::DeviceType::CUDA) {
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
  } else {
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  }
#endif
}

Autocast::~Autocast() {
  if (!on_) return;
#if SATURN_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(device_, false);
#else
  if (device_ == c10::DeviceType::CUDA) at::autocast::set_enabled(false);
  else at::autocast::set_cpu_enabled(false);
#endif
  at::autocast::clear_cache();
}

}  // namespace saturn
