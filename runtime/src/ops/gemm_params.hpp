// Host mirror of templates/marlin_jit/gemm/gemm_params.cuh (passed by value to the GEMM kernels). Keep the two in
// step: the static_asserts pin size and offsets to the device layout (x86-64 and nvptx64 lay plain structs out alike).
#pragma once

#include <cstddef>

namespace marlin_jit::ops {

struct GemmParams {
  const void* a;
  void* out;
  const void* bias;
  const unsigned int* weights;
  const unsigned char* scales;
  float* workspace;
  int* counters;
  float global_scale;
  int m;
  int n;
  int k;
  int n_padded;
  int k_tiles_per_split;
  int splits;
  int k_padded;
  // Grouped (MoE) GEMMs only.
  const int* sorted_rows;
  const int* block_experts;
  const float* expert_global_scales;
  const float* expert_bias;
  const float* slot_weights;
  long long expert_weight_words;
  long long expert_scale_bytes;
  int slots;
  int gather_divisor;
  int out_stride;
  int bias_stride;
};

static_assert(sizeof(GemmParams) == 160, "GemmParams must match the device struct");
static_assert(offsetof(GemmParams, global_scale) == 56 && offsetof(GemmParams, splits) == 80 &&
                  offsetof(GemmParams, k_padded) == 84 && offsetof(GemmParams, sorted_rows) == 88 &&
                  offsetof(GemmParams, expert_weight_words) == 128 && offsetof(GemmParams, bias_stride) == 156,
              "GemmParams must match the device struct");

}  // namespace marlin_jit::ops
