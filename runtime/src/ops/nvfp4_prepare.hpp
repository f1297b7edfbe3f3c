// Enqueues the NVFP4 preparation kernels (templates/marlin_jit/entry/nvfp4_prep.cuh) for one projection of one
// layer or of all experts of an MoE layer at once (the kernels' blockIdx.y walks the experts), and sizes the
// prepared buffers. Shared by the dense and MoE layers, so both prepare bytes the same way.
#pragma once

#include <cstdint>

#include <cuda.h>

#include "marlin_jit/runtime.hpp"

namespace marlin_jit::ops {

struct Nvfp4PrepareJob {
  CUdeviceptr checkpoint_weight = 0;  // uint8 [experts][n][k/2]
  CUdeviceptr checkpoint_scales = 0;  // e4m3 [experts][n][k/16]
  std::int64_t experts = 1;
  std::int64_t n = 0, k = 0;                // checkpoint rows and K
  std::int64_t n_padded = 0, k_padded = 0;  // prepared (multiples of 64)
  std::int64_t gated_rows = 0;              // I for a gated MoE W1 (n = 2I), else 0
  CUdeviceptr prepared_words = 0;           // [experts][prepared_words(...)]
  CUdeviceptr prepared_scales = 0;          // [experts][prepared_scale_bytes(...)]
  CUdeviceptr nan_found = 0;                // int, set to 1 by a NaN scale code (the caller zeroes it first)
};

std::int64_t prepared_words(std::int64_t n_padded, std::int64_t k_padded);       // per expert
std::int64_t prepared_scale_bytes(std::int64_t n_padded, std::int64_t k_padded);  // per expert

void enqueue_nvfp4_prepare(Runtime& runtime, int sm, const Nvfp4PrepareJob& job, CUstream stream);

// x rounded up to a multiple of `granularity`.
std::int64_t round_up(std::int64_t x, std::int64_t granularity);

}  // namespace marlin_jit::ops
