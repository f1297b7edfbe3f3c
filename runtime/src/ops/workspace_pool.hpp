// Scratch memory per (context, stream): split-K partial sums with zeroed per-tile counters, and the dense weights
// of the dequantize + cuBLAS path. Kernels on one stream run in order, so a stream's scratch is never used by two
// GEMMs at once; different streams get different buffers. This is the ops layer's one process-wide cache:
// thread-safe (one mutex), buffers live until process exit. Growing allocates, which never happens during CUDA
// graph capture (ConfigError "workspace_during_capture" instead: run the shape once eagerly on that stream first).
#pragma once

#include <cstdint>

#include <cuda.h>

namespace marlin_jit::ops {

struct SplitWorkspace {
  CUdeviceptr partials = 0;  // floats
  CUdeviceptr counters = 0;  // ints, zero between launches (the kernel's last split resets its counter)
};

SplitWorkspace acquire_split_workspace(CUstream stream, std::uint64_t partial_floats, std::uint64_t counters);

// At least `bytes` of scratch for dequantized weights.
CUdeviceptr acquire_dense_weights(CUstream stream, std::uint64_t bytes);

}  // namespace marlin_jit::ops
