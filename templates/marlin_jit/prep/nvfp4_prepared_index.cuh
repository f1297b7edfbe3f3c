// Index arithmetic between checkpoint coordinates (n, k) and the prepared NVFP4 layout (gemm/nvfp4_layout.cuh).
// Shared by the preparation kernels and the dequantize kernel so the layout is written down once on the device.
#pragma once

#include "marlin_jit/gemm/nvfp4_layout.cuh"

namespace marlin_jit::kernels::nvfp4_layout {

// Where the code of weight (n, k) lives: a word index and the bit offset of its nibble.
struct CodePosition {
  long long word;
  int shift;
};

__device__ __forceinline__ CodePosition code_position(int n, int k, int k_size) {
  const int column_block = n / 16, n_in_block = n % 16;
  const int half = n_in_block / 8, group = n_in_block % 8;
  const int kk = k / 16, k_in_block = k % 16;
  const int high = k_in_block / 8, quad = (k_in_block % 8) / 2, element = k_in_block % 2;
  const int pair = 2 * half + high;
  const int lane = 4 * group + quad;
  const long long atom = static_cast<long long>(column_block) * (k_size / kKChunk) + kk / 4;
  return {(atom * 32 + lane) * 4 + kk % 4, 12 - 4 * pair + 16 * element};
}

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
