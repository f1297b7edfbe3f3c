// Epilogues of the grouped MoE GEMMs: each tile row is a routed slot (sorted_rows), each block one expert.
//   silu_gated: GEMM1 of a gated expert. The prepared W1 interleaves gate and up by 16-row blocks (prep kernels,
//               checkpoint_row), so a warp's two column blocks hold gate and up of the same 16 outputs:
//               out[slot][i] = silu(gate_i) · up_i, i over the padded intermediate size.
//   relu2:      GEMM1 of a non-gated expert: out[slot][i] = max(x_i, 0)².
//   weighted:   GEMM2: out[slot][h] = slot_weight · x_h (x_h alone without slot weights: a raw GEMM1); the top-k
//               rows of a token are summed afterwards in a fixed order (entry/moe_routing.cuh, moe_sum), so no float
//               atomics and the same bits on every run.
// x = accumulator · the expert's global scale (+ the expert's fp32 bias), all in fp32, rounded once at the store.
#pragma once

#include "marlin_jit/common/numeric.cuh"
#include "marlin_jit/epilogue/store.cuh"
#include "marlin_jit/gemm/gemm_params.cuh"

namespace marlin_jit::kernels {

enum class MoeEpilogue { silu_gated, relu2, weighted };

__device__ __forceinline__ float expert_bias(const GemmParams& p, int expert, int col, int limit) {
  return p.expert_bias != nullptr && col < limit ? p.expert_bias[static_cast<long long>(expert) * p.bias_stride + col]
                                                 : 0.0f;
}

template <typename T>
__device__ __forceinline__ void store_slot_pair(const GemmParams& p, int slot, int col, float v0, float v1) {
  T* out = static_cast<T*>(p.out) + static_cast<long long>(slot) * p.out_stride + col;
  *reinterpret_cast<typename DTypeTraits<T>::Pair*>(out) = DTypeTraits<T>::pair_from_floats(v0, v1);
}

// Gate and up meet in one thread: column blocks 2j (gate) and 2j + 1 (up) of the prepared W1 are c = 0 and 1 of a
// warp's accumulators (TileShape: two columns per warp). p.n is the logical intermediate size I, whose gate bias
// sits at [0, I) and up bias at [I, 2I) of the expert's bias row (the checkpoint's order).
template <typename T, typename Shape, typename Mainloop>
__device__ void store_gated_tile(const GemmParams& p, const Mainloop& mainloop, int expert, float scale) {
  static_assert(Mainloop::kCols == 2, "gate and up need two column blocks per warp");
  if (!mainloop.owns_output()) return;
  const int lane = threadIdx.x % 32;
  const int col0 = blockIdx.y * (Shape::kTileN / 2) + mainloop.warp_n * 16 + 2 * (lane % 4);
#pragma unroll
  for (int mi = 0; mi < Shape::kMBlocks; ++mi)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int slot = p.sorted_rows[blockIdx.x * Shape::kTileM + mi * 16 + 8 * half + lane / 4];
      if (slot >= p.slots) continue;
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int col = col0 + 8 * h;
        if (col >= p.out_stride) continue;  // column blocks past the padded N (a partial last tile)
        float v[2];
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const float gate = mainloop.acc[mi][0][h][2 * half + e] * scale + expert_bias(p, expert, col + e, p.n);
          const float up = mainloop.acc[mi][1][h][2 * half + e] * scale + expert_bias(p, expert, p.n + col + e, 2 * p.n);
          v[e] = gate / (1.0f + __expf(-gate)) * up;
        }
        store_slot_pair<T>(p, slot, col, v[0], v[1]);
      }
    }
}

// The K-split partial sums of one tile, gathered by its last split (see gather_moe_splits).
template <typename Shape, typename Mainloop>
__device__ bool gather_moe_split_partials(const GemmParams& p, Mainloop& mainloop) {
  if (gridDim.z == 1) return true;
  const long long rows = static_cast<long long>(gridDim.x) * Shape::kTileM;
  const long long cols = static_cast<long long>(gridDim.y) * Shape::kTileN;
  auto partial = [&](int split, int row, int col) { return p.workspace + (split * rows + row) * cols + col; };
  auto routed = [&](int row) { return p.sorted_rows[row] < p.slots; };  // padding rows are never summed
  for_each_accumulator_pair<Shape>(mainloop, [&](int row, int col, float v0, float v1) {
    if (routed(row)) *reinterpret_cast<float2*>(partial(blockIdx.z, row, col)) = make_float2(v0, v1);
  });
  __shared__ int is_last_split;
  __threadfence();  // this thread's partials are visible device-wide before the counter moves
  __syncthreads();
  const int tile = blockIdx.x * gridDim.y + blockIdx.y;
  if (threadIdx.x == 0) is_last_split = atomicAdd(p.counters + tile, 1) == static_cast<int>(gridDim.z) - 1;
  __syncthreads();
  if (!is_last_split) return false;
  __threadfence();
  if (threadIdx.x == 0) p.counters[tile] = 0;
  for_each_accumulator_pair<Shape>(mainloop, [&](int row, int col, float& v0, float& v1) {
    if (!routed(row)) return;
    float2 sum = make_float2(0.0f, 0.0f);
#pragma unroll 1  // unrolled, this loop (in 16 copies) spilled on the 64-thread tiles and doubled the cubin
    for (int split = 0; split < static_cast<int>(gridDim.z); ++split) {
      const float2 part = __ldcg(reinterpret_cast<const float2*>(partial(split, row, col)));
      sum.x += part.x;
      sum.y += part.y;
    }
    v0 = sum.x;
    v1 = sum.y;
  });
  return true;
}

// K split (gridDim.z > 1): every split writes the partial sums of its routed rows to the workspace; the last split
// to arrive (per-tile counter, reset for the next launch) adds all partials in split order into its accumulators —
// deterministic — and goes on to the epilogue. Returns whether this block holds the tile's sums.
// Only 16-row tiles split (ops/moe_plan.cpp splits only when an expert's rows fit one): compiled into larger tiles,
// the split code cost registers and 3-4x the cubin size, and the GEMMs at M >= 1024 lost 12-50% (bench/NOTES.md v9).
template <typename Shape, typename Mainloop>
__device__ bool gather_moe_splits(const GemmParams& p, Mainloop& mainloop) {
  if constexpr (Shape::kMBlocks > 1) {
    return true;
  } else {
    return gather_moe_split_partials<Shape>(p, mainloop);
  }
}

template <typename T, MoeEpilogue Epilogue, typename Shape, typename Mainloop>
__device__ void store_moe_tile(const GemmParams& p, const Mainloop& mainloop, int expert) {
  const float scale = p.expert_global_scales[expert];
  if constexpr (Epilogue == MoeEpilogue::silu_gated) {
    store_gated_tile<T, Shape>(p, mainloop, expert, scale);
  } else {
    for_each_accumulator_pair<Shape>(mainloop, [&](int row, int col, float v0, float v1) {
      const int slot = p.sorted_rows[row];
      if (slot >= p.slots || col >= p.out_stride) return;
      v0 = v0 * scale + expert_bias(p, expert, col, p.n);
      v1 = v1 * scale + expert_bias(p, expert, col + 1, p.n);
      if constexpr (Epilogue == MoeEpilogue::relu2) {
        v0 = fmaxf(v0, 0.0f) * fmaxf(v0, 0.0f);
        v1 = fmaxf(v1, 0.0f) * fmaxf(v1, 0.0f);
      } else if (p.slot_weights != nullptr) {  // null: a raw GEMM1 (the separate-activation measurement)
        const float weight = p.slot_weights[slot];
        v0 *= weight;
        v1 *= weight;
      }
      store_slot_pair<T>(p, slot, col, v0, v1);
    });
  }
}

}  // namespace marlin_jit::kernels
