// Index arithmetic between checkpoint coordinates and the prepared NVFP4 scale bytes (gemm/nvfp4_layout.cuh),
// shared by the scale preparation and the dequantize kernel.
#pragma once

#include "marlin_jit/gemm/nvfp4_layout.cuh"

namespace marlin_jit::kernels::nvfp4_layout {

// Where the prepared scale byte of (n, k16 group) lives.
__device__ __forceinline__ long long scale_position(int n, int group_index, int k_size) {
  const int column_block = n / 16, n_in_block = n % 16;
  const int half = n_in_block / 8, group = n_in_block % 8;
  const int in_chunk = group_index % 4;
  const int byte = 4 * (in_chunk / 2) + 2 * half + (in_chunk % 2);
  const long long atom = static_cast<long long>(column_block) * (k_size / kKChunk) + group_index / 4;
  return atom * kScaleAtomBytes + group * 8 + byte;
}

}  // namespace marlin_jit::kernels::nvfp4_layout
