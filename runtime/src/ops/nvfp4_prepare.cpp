// NVFP4 preparation launches (see nvfp4_prepare.hpp).
#include "ops/nvfp4_prepare.hpp"

#include "compile/kernel_catalog.hpp"
#include "ops/layer_device.hpp"

namespace marlin_jit::ops {

std::int64_t prepared_words(std::int64_t n_padded, std::int64_t k_padded) { return n_padded * k_padded / 8; }

std::int64_t prepared_scale_bytes(std::int64_t n_padded, std::int64_t k_padded) { return n_padded * k_padded / 16; }

std::int64_t round_up(std::int64_t x, std::int64_t granularity) {
  return (x + granularity - 1) / granularity * granularity;
}

void enqueue_nvfp4_prepare(Runtime& runtime, int sm, const Nvfp4PrepareJob& job, CUstream stream) {
  KernelHandle scales_kernel = prep_kernel(runtime, sm, kPrepScales);
  KernelHandle repack_kernel = prep_kernel(runtime, sm, kPrepRepack);
  int n = static_cast<int>(job.n), k = static_cast<int>(job.k);
  int n_padded = static_cast<int>(job.n_padded), k_padded = static_cast<int>(job.k_padded);
  int gated_rows = static_cast<int>(job.gated_rows);
  const auto* checkpoint_scales = reinterpret_cast<const unsigned char*>(job.checkpoint_scales);
  const auto* checkpoint_weight = reinterpret_cast<const unsigned char*>(job.checkpoint_weight);
  auto* scales = reinterpret_cast<unsigned char*>(job.prepared_scales);
  auto* words = reinterpret_cast<unsigned int*>(job.prepared_words);
  auto* nan_found = reinterpret_cast<int*>(job.nan_found);
  LaunchDims dims;
  dims.block[0] = 256;
  dims.grid[1] = static_cast<unsigned>(job.experts);
  void* scale_args[] = {&checkpoint_scales, &scales, &n, &k, &n_padded, &k_padded, &gated_rows, &nan_found};
  dims.grid[0] = blocks_for(prepared_scale_bytes(job.n_padded, job.k_padded), 256);
  scales_kernel.launch(dims, stream, scale_args);
  void* repack_args[] = {&checkpoint_weight, &checkpoint_scales, &words, &n, &k, &n_padded, &k_padded, &gated_rows};
  dims.grid[0] = blocks_for(prepared_words(job.n_padded, job.k_padded), 256);
  repack_kernel.launch(dims, stream, repack_args);
}

}  // namespace marlin_jit::ops
