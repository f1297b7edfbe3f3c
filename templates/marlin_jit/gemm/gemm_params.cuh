// Arguments of the dense W4A16 GEMM kernel, passed by value. Plain data: the host fills the same layout
// (runtime/src/ops/gemm_launch.cpp static_asserts size and offsets against its mirror).
#pragma once

namespace marlin_jit::kernels {

struct GemmParams {
  const void* a;                // [m, k] activations, row-major
  void* out;                    // [m, n] row-major
  const void* bias;             // [n] or null
  const unsigned int* weights;  // prepared codes (nvfp4_layout.cuh)
  const unsigned char* scales;  // prepared scale bytes
  float* workspace;             // split-K partial sums: [splits][m_chunks * tile_m][n_tiles * tile_n]
  int* counters;                // [m_chunks * n_tiles], zero between launches
  float global_scale;           // checkpoint global scale × 2^7 (see fp4_dequant.cuh)
  int m;
  int n;                        // logical output columns
  int k;
  int n_padded;                 // columns present in the prepared weights (multiple of 64)
  int k_tiles_per_split;
  int splits;
};

}  // namespace marlin_jit::kernels
