// CUDA runtime and NCCL calls go through these checks: a failure returns a Status naming
// file:line, the call and the library's message. Included by the CUDA and NCCL backend files only.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "util/status.h"

#define SATURN_CUDA_CHECK(call)                                                                         \
  do {                                                                                                  \
    cudaError_t _e = (call);                                                                            \
    if (_e != cudaSuccess)                                                                              \
      return ::saturn::Status::Internal(std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " #call \
                                        ": " + cudaGetErrorString(_e));                                 \
  } while (0)

