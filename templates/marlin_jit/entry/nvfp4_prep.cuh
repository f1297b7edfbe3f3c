// Preparation kernels: ModelOpt NVFP4 checkpoint tensors → the GEMM's prepared layout, plus the dequantizer
// (prepared layout → dense fp16/bf16 weights) and the bias broadcast used by the large-M path.
// Checkpoint: weight uint8 [n][k/2] (even k in the low nibble), weight_scale e4m3 [n][k/16], k a multiple of 16.
// Prepared: n_padded rows (multiple of 64) × k_padded (multiple of 64); rows past the checkpoint's and K past k
// come out as zero codes with zero scales, so they add exact zeros to every product.
// Batched: blockIdx.y is the expert of a stacked [experts][n][...] checkpoint (dense layers launch one).
// gated_rows: 0, or I for a gated MoE W1 ([gate rows; up rows], n = 2I), interleaved as checkpoint_row says.
// One thread per prepared word/byte (a block per row for the dequantizer).
#pragma once

#include "marlin_jit/common/numeric.cuh"
#include "marlin_jit/prep/e4m3.cuh"
#include "marlin_jit/prep/nvfp4_prepared_index.cuh"

namespace marlin_jit::kernels {

// The checkpoint row of prepared row `row`, or -1 for padding. A gated W1 is interleaved by 16-row blocks: gate
// block j, then up block j (each half padded to a multiple of 64 rows), so the two column blocks one warp owns
// hold the gate and up values of the same 16 outputs (epilogue/moe_store.cuh).
__device__ __forceinline__ int checkpoint_row(int row, int n, int gated_rows) {
  if (gated_rows == 0) return row < n ? row : -1;
  const int block = row / 16, in_half = 16 * (block / 2) + row % 16;
  return in_half < gated_rows ? (block % 2) * gated_rows + in_half : -1;
}

// Scale bytes; NaN codes set *nan_found (the host refuses the layer), zero codes give 0 (their codes are zeroed).
__global__ void nvfp4_prepare_scales(const unsigned char* checkpoint_scales, unsigned char* prepared, int n, int k,
                                     int n_padded, int k_padded, int gated_rows, int* nan_found) {
  const long long total = static_cast<long long>(n_padded) * (k_padded / 16);
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= total) return;
  checkpoint_scales += static_cast<long long>(blockIdx.y) * n * (k / 16);
  prepared += static_cast<long long>(blockIdx.y) * total;
  const long long atom = i / nvfp4_layout::kScaleAtomBytes;
  const int within = static_cast<int>(i % nvfp4_layout::kScaleAtomBytes);
  const int k_chunks = k_padded / nvfp4_layout::kKChunk;
  const int column_block = static_cast<int>(atom / k_chunks), chunk = static_cast<int>(atom % k_chunks);
  const int group = within / 8, byte = within % 8;
  const int row = checkpoint_row(16 * column_block + 8 * ((byte % 4) >> 1) + group, n, gated_rows);
  const int group_index = 4 * chunk + 2 * (byte / 4) + (byte & 1);
  unsigned char out = 0;
  if (row >= 0 && group_index < k / 16) {
    const unsigned char code = checkpoint_scales[static_cast<long long>(row) * (k / 16) + group_index];
    if (e4m3_is_nan(code)) {
      atomicOr(nan_found, 1);
    } else if (!e4m3_is_zero(code)) {
      out = prepared_scale_byte(code);
    }
  }
  prepared[i] = out;
}

// Code words; a negative scale flips its block's code signs, a zero scale zeroes its block's codes.
__global__ void nvfp4_repack_weights(const unsigned char* checkpoint_weight, const unsigned char* checkpoint_scales,
                                     unsigned int* prepared, int n, int k, int n_padded, int k_padded,
                                     int gated_rows) {
  const long long total = static_cast<long long>(n_padded / 16) * (k_padded / nvfp4_layout::kKChunk) * 128;
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= total) return;
  checkpoint_weight += static_cast<long long>(blockIdx.y) * n * (k / 2);
  checkpoint_scales += static_cast<long long>(blockIdx.y) * n * (k / 16);
  prepared += static_cast<long long>(blockIdx.y) * total;
  const long long atom = i / 128;
  const int within = static_cast<int>(i % 128);
  const int k_chunks = k_padded / nvfp4_layout::kKChunk;
  const int column_block = static_cast<int>(atom / k_chunks), chunk = static_cast<int>(atom % k_chunks);
  const int lane = within / 4, kk = 4 * chunk + within % 4;
  const int group = lane / 4, quad = lane % 4;
  unsigned int word = 0;
#pragma unroll
  for (int pair = 0; pair < 4; ++pair) {
    const int row = checkpoint_row(16 * column_block + 8 * (pair / 2) + group, n, gated_rows);
    if (row < 0 || kk >= k / 16) continue;
    const unsigned char scale = checkpoint_scales[static_cast<long long>(row) * (k / 16) + kk];
    if (e4m3_is_zero(scale) || e4m3_is_nan(scale)) continue;
    const unsigned int sign_flip = (scale & 0x80) ? 0x8u : 0x0u;
#pragma unroll
    for (int element = 0; element < 2; ++element) {
      const int col = 16 * kk + 8 * (pair % 2) + 2 * quad + element;
      const unsigned char byte = checkpoint_weight[static_cast<long long>(row) * (k / 2) + col / 2];
      const unsigned int code = ((col & 1) ? (byte >> 4) : byte) & 0xFu;
      word |= (code ^ sign_flip) << (12 - 4 * pair + 16 * element);
    }
  }
  prepared[i] = word;
}

// Dense weights out[n][k] = e2m1 · |scale| · global, from the prepared layout (global_scale_prepared = global·2^7).
// A block per row (host: ops/prep_launch.hpp); each thread takes 8 consecutive k at a time (one 16-byte store; the
// 8 codes sit in 4 neighbouring lanes' words) and strides over the row, so stores coalesce and the index arithmetic
// is 32-bit and mostly per row (a flat thread index needed a 64-bit division per thread).
template <typename T>
__global__ void nvfp4_dequantize(const unsigned int* prepared_weights, const unsigned char* prepared_scales,
                                 float global_scale_prepared, T* out, int n, int k, int k_padded) {
  const int row = static_cast<int>(blockIdx.x);
  if (row >= n) return;
  const int half = (row % 16) / 8, group = row % 8;
  constexpr int kAtomWords = nvfp4_layout::kWeightAtomBytes / 4;
  const unsigned int* row_words =
      prepared_weights + static_cast<long long>(row / 16) * (k_padded / nvfp4_layout::kKChunk) * kAtomWords + 16 * group;
  T* row_out = out + static_cast<long long>(row) * k;
  for (int col0 = static_cast<int>(threadIdx.x) * 8; col0 < k; col0 += static_cast<int>(blockDim.x) * 8) {
    const int kk = col0 / 16, pair = 2 * half + (col0 / 8) % 2;
    const unsigned char scale_byte = prepared_scales[nvfp4_layout::scale_position(row, kk, k_padded)];
    // (v·2^-14) · (|s|·2^7) is exact in fp32; times global·2^7 it is rounded to fp32, then to T (as the reference).
    const float scale = __half2float(__ushort_as_half(static_cast<unsigned short>(scale_byte << 7)));  // |s|·2^7
    const unsigned int* words = row_words + (kk / 4) * kAtomWords + kk % 4;
    __align__(16) T values[8];
#pragma unroll
    for (int quad = 0; quad < 4; ++quad) {
      const unsigned int word = words[4 * quad];
#pragma unroll
      for (int element = 0; element < 2; ++element) {
        const unsigned int code = (word >> (12 - 4 * pair + 16 * element)) & 0xFu;
        // The kernel's own bit trick: sign to bit 15, e1 e0 m to bits 11..9 reads as v·2^-14 in fp16.
        const float value = __half2float(
            __ushort_as_half(static_cast<unsigned short>(((code & 0x8u) << 12) | ((code & 0x7u) << 9))));
        values[2 * quad + element] = DTypeTraits<T>::from_float(value * scale * global_scale_prepared);
      }
    }
    *reinterpret_cast<uint4*>(row_out + col0) = *reinterpret_cast<const uint4*>(values);
  }
}

// out[r][c] = row[c] for every r < m: the bias preloaded into the output for the dequantize + cuBLAS path (beta 1).
template <typename T>
__global__ void broadcast_rows(const T* row, T* out, int m, int n) {
  const long long total = static_cast<long long>(m) * n;
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < total) out[i] = row[i % n];
}

}  // namespace marlin_jit::kernels
