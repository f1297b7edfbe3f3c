// Split-K workspace per (context, stream): partial-sum floats plus zeroed per-tile counters. Kernels on one stream
// run in order, so a stream's workspace is never used by two GEMMs at once; different streams get different ones.
// This is the ops layer's one process-wide cache: thread-safe (one mutex), buffers live until process exit.
// Growing allocates (never during CUDA graph capture: ConfigError "workspace_during_capture" instead).
#pragma once

#include <cstdint>

#include <cuda.h>

namespace marlin_jit::ops {

struct Workspace {
  CUdeviceptr partials = 0;  // floats
  CUdeviceptr counters = 0;  // ints, zero between launches (the kernel's last split resets its counter)
};

Workspace acquire_workspace(CUstream stream, std::uint64_t partial_floats, std::uint64_t counters);

}  // namespace marlin_jit::ops
