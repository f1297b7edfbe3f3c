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

// Scratch of the MoE layers on one stream: routing tables and the two GEMMs' slot rows, each at least the bytes
// asked for, and the stream's count of out-of-range routing ids (device, zeroed on creation) with a mirror in pinned
// host memory mapped into the device, which the alignment kernel updates whenever the count grows (no copy to
// enqueue, so the hot path stays one launch per phase).
struct MoeWorkspace {
  CUdeviceptr routing = 0;       // sorted rows, block experts, padded total
  CUdeviceptr intermediate = 0;  // GEMM1 output [slots][padded I]
  CUdeviceptr slot_outputs = 0;  // GEMM2 output [slots][padded H]
  CUdeviceptr invalid_ids = 0;         // unsigned int
  CUdeviceptr invalid_ids_mirror = 0;  // the mirror's device address
};
MoeWorkspace acquire_moe_workspace(CUstream stream, std::uint64_t routing_bytes, std::uint64_t intermediate_bytes,
                                   std::uint64_t slot_output_bytes);

// Out-of-range routing ids the pinned mirror of `stream` shows beyond those already reported (0 for a stream with no
// MoE scratch yet), marking them reported. The device count only grows; the mirror is as fresh as the last copy
// that finished.
std::uint64_t take_unreported_invalid_ids(CUstream stream);

}  // namespace marlin_jit::ops
