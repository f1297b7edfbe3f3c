// Arguments of the W4A16 GEMM kernels (dense and grouped MoE), passed by value. Plain data: the host fills the
// same layout (runtime/src/ops/gemm_params.hpp static_asserts size and offsets against its mirror).
#pragma once

namespace marlin_jit::kernels {

struct GemmParams {
  const void* a;                // [m, k] activations, row-major (grouped: rows gathered through sorted_rows)
  void* out;                    // [m, n] row-major (grouped: [slots, out_stride])
  const void* bias;             // dense: [n] in the activation dtype, or null
  const unsigned int* weights;  // prepared codes (nvfp4_layout.cuh); grouped: expert 0's
  const unsigned char* scales;  // prepared scale bytes; grouped: expert 0's
  float* workspace;             // split-K partial sums: [splits][m_chunks * tile_m][n_tiles * tile_n]
  int* counters;                // [m_chunks * n_tiles], zero between launches
  float global_scale;           // checkpoint global scale × 2^7 (see fp4_dequant.cuh); grouped: per expert instead
  int m;
  int n;                        // logical output columns
  int k;                        // logical K: columns of A; the prepared K past it holds zero codes
  int n_padded;                 // columns present in the prepared weights (multiple of 64)
  int k_tiles_per_split;
  int splits;
  int k_padded;                 // K of the prepared weights (multiple of 64); A is zero-filled from k on

  // Grouped (MoE) GEMMs only: null / 0 for dense.
  const int* sorted_rows;             // [gridDim.x · tile_m]: per tile row a slot, or >= slots for padding
  const int* block_experts;           // [gridDim.x]: each M block's expert, < 0 past the routed total
  const float* expert_global_scales;  // [experts]: global scale × 2^7
  const float* expert_bias;           // [experts][bias_stride] fp32, or null
  const float* slot_weights;          // [slots]: factor applied to each slot's output row (top-k weights), or null
  long long expert_weight_words;      // distance between experts' prepared codes
  long long expert_scale_bytes;       // distance between experts' prepared scales
  int slots;                          // routed (token, expert) pairs; A's row of slot s is s / gather_divisor
  int gather_divisor;
  int out_stride;                     // elements between output rows
  int bias_stride;
};

}  // namespace marlin_jit::kernels
