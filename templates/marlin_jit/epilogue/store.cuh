// GEMM epilogue: scales fp32 accumulators by the global scale, adds the bias, converts and stores the tile.
// With split-K, every split writes its partial tile to the workspace; the last split to arrive (per-tile counter)
// sums the partials in split order — deterministic — and resets the counter for the next launch.
#pragma once

#include "marlin_jit/common/numeric.cuh"
#include "marlin_jit/gemm/gemm_params.cuh"

namespace marlin_jit::kernels {

template <typename T>
__device__ __forceinline__ void store_output_pair(const GemmParams& p, int row, int col, float v0, float v1) {
  using Traits = DTypeTraits<T>;
  T* out = static_cast<T*>(p.out) + static_cast<long long>(row) * p.n;
  v0 *= p.global_scale;
  v1 *= p.global_scale;
  if (p.bias != nullptr) {
    const T* bias = static_cast<const T*>(p.bias);
    if (col < p.n) v0 += Traits::to_float(bias[col]);
    if (col + 1 < p.n) v1 += Traits::to_float(bias[col + 1]);
  }
  if (col + 1 < p.n && (p.n & 1) == 0) {
    *reinterpret_cast<typename Traits::Pair*>(out + col) = Traits::pair_from_floats(v0, v1);
  } else {
    if (col < p.n) out[col] = Traits::from_float(v0);
    if (col + 1 < p.n) out[col + 1] = Traits::from_float(v1);
  }
}

// Calls visit(row, col, v0, v1) for every final accumulator pair this thread holds (none outside K-warp 0 of its
// column group): (row, col) and (row, col + 1) of the output, offset by this block's tile origin. v0 and v1 are the
// accumulators themselves: a visitor taking float& may change them (Mainloop non-const).
template <typename Shape, typename Mainloop, typename Visit>
__device__ __forceinline__ void for_each_accumulator_pair(Mainloop& mainloop, Visit visit) {
  if (!mainloop.owns_output()) return;
  const int lane = threadIdx.x % 32;
  const int row0 = blockIdx.x * Shape::kTileM + lane / 4;
  const int col0 = blockIdx.y * Shape::kTileN + 2 * (lane % 4);
#pragma unroll
  for (int mi = 0; mi < Shape::kMBlocks; ++mi)
#pragma unroll
    for (int c = 0; c < Mainloop::kCols; ++c)
#pragma unroll
      for (int h = 0; h < 2; ++h)
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          visit(row0 + mi * 16 + 8 * half, col0 + mainloop.column_of(c) + h * 8,
                mainloop.acc[mi][c][h][2 * half], mainloop.acc[mi][c][h][2 * half + 1]);
        }
}

template <typename T, typename Shape, typename Mainloop>
__device__ void store_tile(const GemmParams& p, const Mainloop& mainloop) {
  const int row0 = blockIdx.x * Shape::kTileM;
  const int col0 = blockIdx.y * Shape::kTileN;

  if (p.splits == 1) {
    for_each_accumulator_pair<Shape>(mainloop, [&](int row, int col, float v0, float v1) {
      if (row < p.m) store_output_pair<T>(p, row, col, v0, v1);
    });
    return;
  }

  const long long workspace_rows = static_cast<long long>(gridDim.x) * Shape::kTileM;
  const long long workspace_cols = static_cast<long long>(gridDim.y) * Shape::kTileN;
  float* partial = p.workspace + blockIdx.z * workspace_rows * workspace_cols;
  // Rows past M are never read back, so they are not written either (at M = 1, 15 of 16 rows).
  for_each_accumulator_pair<Shape>(mainloop, [&](int row, int col, float v0, float v1) {
    if (row < p.m) *reinterpret_cast<float2*>(partial + row * workspace_cols + col) = make_float2(v0, v1);
  });

  __shared__ int is_last_split;
  __threadfence();  // this thread's partials are visible device-wide before the counter moves
  __syncthreads();
  const int tile = blockIdx.x * gridDim.y + blockIdx.y;
  if (threadIdx.x == 0) is_last_split = atomicAdd(p.counters + tile, 1) == p.splits - 1;
  __syncthreads();
  if (!is_last_split) return;
  __threadfence();

  constexpr int kPairsPerRow = Shape::kTileN / 2;
  for (int e = threadIdx.x; e < Shape::kTileM * kPairsPerRow; e += Shape::kThreads) {
    const int row = row0 + e / kPairsPerRow;
    const int col = col0 + 2 * (e % kPairsPerRow);
    if (row >= p.m || col >= p.n) continue;
    float2 sum = make_float2(0.0f, 0.0f);
    for (int s = 0; s < p.splits; ++s) {
      const float2 part = __ldcg(reinterpret_cast<const float2*>(p.workspace + (s * workspace_rows + row) * workspace_cols + col));
      sum.x += part.x;
      sum.y += part.y;
    }
    store_output_pair<T>(p, row, col, sum.x, sum.y);
  }
  if (threadIdx.x == 0) p.counters[tile] = 0;
}

}  // namespace marlin_jit::kernels
