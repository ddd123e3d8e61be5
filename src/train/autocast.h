// bf16 autocast on one device type while in scope: matmuls and other autocast-listed ops run in
// bfloat16, reductions and the loss stay float32. LibTorch's C++ API for it changed in 2.4; the
// #if lives in autocast.cc only.
#pragma once

#include <c10/core/DeviceType.h>

namespace saturn {

class Autocast {
 public:
  Autocast(bool on, c10::DeviceType device);
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool on_;
  c10::DeviceType device_;
};

}  // namespace saturn
