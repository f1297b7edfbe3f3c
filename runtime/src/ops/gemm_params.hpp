// Host mirror of templates/marlin_jit/gemm/gemm_params.cuh (passed by value to the kernel). Keep the two in
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
};

static_assert(sizeof(GemmParams) == 88, "GemmParams must match the device struct");
static_assert(offsetof(GemmParams, global_scale) == 56 && offsetof(GemmParams, splits) == 80,
              "GemmParams must match the device struct");

}  // namespace marlin_jit::ops
