// Marlin-style W4A16 mainloop for SM80–SM90: e2m1 weights with e4m3 group-16 scales, fp16/bf16 tensor-core MMA.
// One thread block owns a (tile_m × tile_n) output tile and walks its share of K through a Stages-deep cp.async
// pipeline; each warp owns whole 16-column blocks over the full K tile, so warps never reduce among themselves.
// Valid tile shapes are those runtime/src/dispatch/tile_select.cpp hands out; nothing here re-checks them.
#pragma once

#include "marlin_jit/common/fp4_dequant.cuh"
#include "marlin_jit/common/numeric.cuh"
#include "marlin_jit/common/ptx.cuh"
#include "marlin_jit/gemm/gemm_params.cuh"
#include "marlin_jit/gemm/tile_loader.cuh"
#include "marlin_jit/gemm/tile_shape.cuh"

namespace marlin_jit::kernels {

template <typename T, typename Shape>
struct Nvfp4Mainloop {
  using Pair = typename DTypeTraits<T>::Pair;
  static constexpr int kCols = Shape::kColumnsPerWarp;

  // Accumulators: [16-row block][owned 16-column block][8-column half][mma C fragment].
  float acc[Shape::kMBlocks][kCols][2][4];

  const GemmParams& p;
  unsigned char* smem;
  TileLoader<T, Shape> loader;

  __device__ Nvfp4Mainloop(const GemmParams& params, unsigned char* shared)
      : p(params), smem(shared), loader(params, blockIdx.x, blockIdx.y) {
#pragma unroll
    for (int mi = 0; mi < Shape::kMBlocks; ++mi)
#pragma unroll
      for (int c = 0; c < kCols; ++c)
#pragma unroll
        for (int h = 0; h < 2; ++h)
#pragma unroll
          for (int e = 0; e < 4; ++e) acc[mi][c][h][e] = 0.0f;
  }

  __device__ void load_stage(int slot, int k_tile) const { loader.load(smem + slot * Shape::kStageBytes, k_tile); }

  __device__ void compute_stage(int slot) {
    const unsigned char* stage = smem + slot * Shape::kStageBytes;
    const unsigned char* activations = stage + Shape::kWeightBytes + Shape::kScaleBytes;
    const int lane = threadIdx.x % 32;
    const int warp = threadIdx.x / 32;
    const int group = lane / 4;

#pragma unroll
    for (int kq = 0; kq < Shape::kKChunks; ++kq) {
      uint4 words[kCols];
      uint2 scale_bytes[kCols];
#pragma unroll
      for (int c = 0; c < kCols; ++c) {
        const int atom = (warp * kCols + c) * Shape::kKChunks + kq;
        words[c] = *reinterpret_cast<const uint4*>(stage + atom * nvfp4_layout::kWeightAtomBytes + lane * 16);
        scale_bytes[c] = *reinterpret_cast<const uint2*>(stage + Shape::kWeightBytes +
                                                          atom * nvfp4_layout::kScaleAtomBytes + group * 8);
      }
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int kk = kq * 4 + j;
        unsigned int a_frag[Shape::kMBlocks][4];
#pragma unroll
        for (int mi = 0; mi < Shape::kMBlocks; ++mi) {
          const int row = mi * 16 + (lane & 15);
          const int chunk = 2 * kk + (lane >> 4);
          ldmatrix_x4(a_frag[mi],
                      activations + (row * Shape::kActivationRowChunks + (chunk ^ (row & 7))) * 16);
        }
#pragma unroll
        for (int c = 0; c < kCols; ++c) {
          const unsigned int word = j == 0 ? words[c].x : j == 1 ? words[c].y : j == 2 ? words[c].z : words[c].w;
          const unsigned int group_bytes =
              ((j < 2 ? scale_bytes[c].x : scale_bytes[c].y) >> (8 * (j & 1))) & 0x00FF00FFu;
          const unsigned int scales = expand_scale_pair<T>(group_bytes);
          const Pair scale_lo = bits_to_pair<Pair>(__byte_perm(scales, 0, 0x1010));
          const Pair scale_hi = bits_to_pair<Pair>(__byte_perm(scales, 0, 0x3232));
          const unsigned int b0 = pair_to_bits(__hmul2(bits_to_pair<Pair>(decode_e2m1_pair<T, 0>(word)), scale_lo));
          const unsigned int b1 = pair_to_bits(__hmul2(bits_to_pair<Pair>(decode_e2m1_pair<T, 1>(word)), scale_lo));
          const unsigned int b2 = pair_to_bits(__hmul2(bits_to_pair<Pair>(decode_e2m1_pair<T, 2>(word)), scale_hi));
          const unsigned int b3 = pair_to_bits(__hmul2(bits_to_pair<Pair>(decode_e2m1_pair<T, 3>(word)), scale_hi));
#pragma unroll
          for (int mi = 0; mi < Shape::kMBlocks; ++mi) {
            mma_m16n8k16<T>(acc[mi][c][0], a_frag[mi], b0, b1);
            mma_m16n8k16<T>(acc[mi][c][1], a_frag[mi], b2, b3);
          }
        }
      }
    }
  }

  // Runs this block's K range [split * k_tiles_per_split, ...) through the pipeline.
  __device__ void run() {
    const int k_tiles = p.k / Shape::kTileK;
    const int k_begin = blockIdx.z * p.k_tiles_per_split;
    const int k_end = min(k_begin + p.k_tiles_per_split, k_tiles);
    const int iterations = k_end - k_begin;

#pragma unroll
    for (int s = 0; s < Shape::kStages - 1; ++s) {
      if (s < iterations) load_stage(s, k_begin + s);
      cp_async_commit();
    }
    for (int it = 0; it < iterations; ++it) {
      cp_async_wait<Shape::kStages - 2>();
      __syncthreads();  // stage `it` landed for every thread; slot (it-1) is free to refill
      const int next = it + Shape::kStages - 1;
      if (next < iterations) load_stage(next % Shape::kStages, k_begin + next);
      cp_async_commit();
      compute_stage(it % Shape::kStages);
    }
    cp_async_wait<0>();
  }
};

}  // namespace marlin_jit::kernels
