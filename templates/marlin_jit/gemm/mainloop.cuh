// Marlin-style W4A16 mainloop for SM80–SM90: e2m1 weights with e4m3 group-16 scales, fp16/bf16 tensor-core MMA.
// One thread block owns a (tile_m × tile_n) output tile and walks its share of K through a Stages-deep cp.async
// pipeline. Warps are laid out over (column group, K share) as TileShape says: each warp decodes the weights of up
// to four 16-column blocks for its k16 steps and reuses every activation fragment across all of them; after the
// loop, the K-warps of a column group sum their partial tiles through shared memory (reduce_k_warps), so only
// K-warp 0 of each group holds the block's result.
// Gather: the grouped MoE variant, whose tile rows are gathered rows of A (TileLoader); the caller points the
// weights and scales at the block's expert.
// Valid tile shapes are those runtime/src/dispatch/tile_select.cpp hands out; nothing here re-checks them.
#pragma once

#include "marlin_jit/common/fp4_dequant.cuh"
#include "marlin_jit/common/numeric.cuh"
#include "marlin_jit/common/ptx.cuh"
#include "marlin_jit/gemm/gemm_params.cuh"
#include "marlin_jit/gemm/tile_loader.cuh"
#include "marlin_jit/gemm/tile_shape.cuh"

namespace marlin_jit::kernels {

template <typename T, typename Shape, bool Gather = false>
struct Nvfp4Mainloop {
  using Pair = typename DTypeTraits<T>::Pair;
  static constexpr int kCols = Shape::kColumnsPerWarp;
  static constexpr int kWords = Shape::kWordsPerRead;

  // Accumulators: [16-row block][owned 16-column block][8-column half][mma C fragment].
  float acc[Shape::kMBlocks][kCols][2][4];

  const GemmParams& p;
  unsigned char* smem;
  const unsigned int smem_window;  // smem as a shared-window address, for cp.async and ldmatrix
  TileLoader<T, Shape, Gather> loader;
  const int lane = threadIdx.x % 32;
  const int warp_n = (threadIdx.x / 32) % Shape::kWarpsN;
  const int warp_k = (threadIdx.x / 32) / Shape::kWarpsN;

  __device__ Nvfp4Mainloop(const GemmParams& params, unsigned char* shared)
      : p(params),
        smem(shared),
        smem_window(smem_address(shared)),
        loader(params, blockIdx.x, blockIdx.y, blockIdx.z * params.k_tiles_per_split) {
    visit_accumulators([](int, float& value) { value = 0.0f; });
  }

  // Whether this warp holds final sums after reduce_k_warps (the epilogue stores only these).
  __device__ bool owns_output() const { return warp_k == 0; }
  // First output column of owned column block c, relative to the tile.
  __device__ int column_of(int c) const { return (warp_n * kCols + c) * 16; }

  // Loads the block's next K tile into pipeline slot `slot`.
  __device__ void load_stage(int slot) { loader.load_next(smem_window + slot * Shape::kStageBytes); }

  __device__ void compute_stage(int slot) {
    const unsigned char* stage = smem + slot * Shape::kStageBytes;
    const unsigned int activations = smem_window + slot * Shape::kStageBytes + Shape::kWeightBytes + Shape::kScaleBytes;
    const int group = lane / 4;

#pragma unroll
    for (int read = 0; read < Shape::kStepsPerWarp / kWords; ++read) {
      const int first_step = warp_k * Shape::kStepsPerWarp + read * kWords;  // k16 step within the K tile
      const int chunk = first_step / 4, first_word = first_step % 4;         // atom, and word within it
      unsigned int words[kCols][kWords];
      unsigned int scale_words[kCols][(kWords + 1) / 2];
#pragma unroll
      for (int c = 0; c < kCols; ++c) {
        const int atom = (warp_n * kCols + c) * Shape::kKChunks + chunk;
        const unsigned char* code = stage + atom * nvfp4_layout::kWeightAtomBytes + lane * 16 + first_word * 4;
        const unsigned char* scale =
            stage + Shape::kWeightBytes + atom * nvfp4_layout::kScaleAtomBytes + group * 8 + (first_word / 2) * 4;
        if constexpr (kWords == 4) {
          const uint4 v = *reinterpret_cast<const uint4*>(code);
          words[c][0] = v.x, words[c][1] = v.y, words[c][2] = v.z, words[c][3] = v.w;
          const uint2 s = *reinterpret_cast<const uint2*>(scale);
          scale_words[c][0] = s.x, scale_words[c][1] = s.y;
        } else if constexpr (kWords == 2) {
          const uint2 v = *reinterpret_cast<const uint2*>(code);
          words[c][0] = v.x, words[c][1] = v.y;
          scale_words[c][0] = *reinterpret_cast<const unsigned int*>(scale);
        } else {
          words[c][0] = *reinterpret_cast<const unsigned int*>(code);
          scale_words[c][0] = *reinterpret_cast<const unsigned int*>(scale);
        }
      }
#pragma unroll
      for (int w = 0; w < kWords; ++w) {
        const int step = first_step + w;
        // Groups 2i and 2i+1 of a scale word sit in its even and odd bytes (nvfp4_layout.cuh); with one word per
        // read the parity is only known at run time.
        const int parity = kWords == 1 ? (first_word & 1) : (w & 1);
        unsigned int a_frag[Shape::kMBlocks][4];
#pragma unroll
        for (int mi = 0; mi < Shape::kMBlocks; ++mi) {
          const int row = mi * 16 + (lane & 15);
          const int a_chunk = 2 * step + (lane >> 4);
          ldmatrix_x4(a_frag[mi], activations + (row * Shape::kActivationRowChunks + (a_chunk ^ (row & 7))) * 16);
        }
#pragma unroll
        for (int c = 0; c < kCols; ++c) {
          const unsigned int word = words[c][w];
          const unsigned int scales = expand_scale_pair<T>(scale_words[c][w / 2], parity);
          const Pair scale_lo = scale_half<T>(scales, 0);  // column g
          const Pair scale_hi = scale_half<T>(scales, 1);  // column g + 8
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

  // Sums the partial tiles of the K-warps of each column group into K-warp 0, halving the active K-warps per
  // round; the upper half parks its accumulators in the (drained) pipeline memory, lane-contiguous so the stores
  // and loads are free of bank conflicts.
  __device__ void reduce_k_warps() {
    if constexpr (Shape::kWarpsK > 1) {
      float* scratch = reinterpret_cast<float*>(smem);
      __syncthreads();  // every warp is done with the pipeline's memory
#pragma unroll
      for (int active = Shape::kWarpsK; active > 1; active /= 2) {
        const int half = active / 2;
        if (warp_k >= half && warp_k < active) {
          float* slot = scratch + ((warp_k - half) * Shape::kWarpsN + warp_n) * Shape::kAccumulatorsPerThread * 32;
          visit_accumulators([&](int i, float& value) { slot[i * 32 + lane] = value; });
        }
        __syncthreads();
        if (warp_k < half) {
          const float* slot = scratch + (warp_k * Shape::kWarpsN + warp_n) * Shape::kAccumulatorsPerThread * 32;
          visit_accumulators([&](int i, float& value) { value += slot[i * 32 + lane]; });
        }
        __syncthreads();
      }
    }
  }

  template <typename Visit>
  __device__ __forceinline__ void visit_accumulators(Visit visit) {
    int i = 0;
#pragma unroll
    for (int mi = 0; mi < Shape::kMBlocks; ++mi)
#pragma unroll
      for (int c = 0; c < kCols; ++c)
#pragma unroll
        for (int h = 0; h < 2; ++h)
#pragma unroll
          for (int e = 0; e < 4; ++e) visit(i++, acc[mi][c][h][e]);
  }

  // Runs this block's K range [split * k_tiles_per_split, ...) through the pipeline, then the K-warp reduction.
  __device__ void run() {
    const int k_tiles = p.k_padded / Shape::kTileK;
    const int k_begin = blockIdx.z * p.k_tiles_per_split;
    const int k_end = min(k_begin + p.k_tiles_per_split, k_tiles);
    const int iterations = k_end - k_begin;

#pragma unroll
    for (int s = 0; s < Shape::kStages - 1; ++s) {
      if (s < iterations) load_stage(s);
      cp_async_commit();
    }
    int compute_slot = 0, load_slot = Shape::kStages - 1;  // kept as counters: a modulo by 3 costs a multiply
    for (int it = 0; it < iterations; ++it) {
      cp_async_wait<Shape::kStages - 2>();
      __syncthreads();  // stage `it` landed for every thread; slot (it-1) is free to refill
      if (it + Shape::kStages - 1 < iterations) load_stage(load_slot);
      cp_async_commit();
      compute_stage(compute_slot);
      compute_slot = compute_slot == Shape::kStages - 1 ? 0 : compute_slot + 1;
      load_slot = load_slot == Shape::kStages - 1 ? 0 : load_slot + 1;
    }
    cp_async_wait<0>();
    reduce_k_warps();
  }
};

}  // namespace marlin_jit::kernels
