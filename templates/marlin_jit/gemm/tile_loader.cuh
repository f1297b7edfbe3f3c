// Global→shared copies of one pipeline stage (weights, scales, activations) with cp.async. Every per-thread source
// address is computed once, in the constructor; a stage then costs one add and one cp.async per 16-byte chunk.
// (Computing them per stage with divisions made integer arithmetic outnumber the MMAs 100:1 — see bench/NOTES.md.)
// No L2 eviction hint: with createpolicy + .L2::cache_hint, t128m4n4k8s5 faulted with illegal instructions on an
// H100 and the hint-free copies measured faster (bench/NOTES.md, v3).
#pragma once

#include "marlin_jit/common/ptx.cuh"
#include "marlin_jit/gemm/gemm_params.cuh"
#include "marlin_jit/gemm/nvfp4_layout.cuh"

namespace marlin_jit::kernels {

// Chunks [0, Count) of 16 bytes spread over Threads threads: thread t takes t, t + Threads, ...
template <int Count, int Threads>
struct ChunkSpread {
  static constexpr int kIterations = (Count + Threads - 1) / Threads;
  __device__ static bool owns(int iteration) {
    return Count % Threads == 0 || static_cast<int>(threadIdx.x) + iteration * Threads < Count;
  }
  __device__ static int chunk(int iteration) { return static_cast<int>(threadIdx.x) + iteration * Threads; }
};

template <typename T, typename Shape>
struct TileLoader {
  // Weights and scales: per column block of the tile, kKChunks atoms contiguous in the prepared layout.
  static constexpr int kWeightChunksPerColumn = Shape::kKChunks * nvfp4_layout::kWeightAtomBytes / 16;
  static constexpr int kScaleChunksPerColumn = Shape::kKChunks * nvfp4_layout::kScaleAtomBytes / 16;
  using WeightSpread = ChunkSpread<Shape::kNBlocks * kWeightChunksPerColumn, Shape::kThreads>;
  using ScaleSpread = ChunkSpread<Shape::kNBlocks * kScaleChunksPerColumn, Shape::kThreads>;
  // Activations: kTileM rows of kActivationRowChunks chunks, XOR-swizzled by row so ldmatrix is conflict-free.
  using ActivationSpread = ChunkSpread<Shape::kTileM * Shape::kActivationRowChunks, Shape::kThreads>;

  const uint4* weight_source[WeightSpread::kIterations];
  const uint4* scale_source[ScaleSpread::kIterations];
  const T* activation_source[ActivationSpread::kIterations];
  unsigned int valid_mask = 0;  // bit per (kind, iteration): column block inside padded N, row inside M

  static constexpr int kScaleBit = WeightSpread::kIterations;
  static constexpr int kActivationBit = kScaleBit + ScaleSpread::kIterations;
  static_assert(kActivationBit + ActivationSpread::kIterations <= 32, "valid bits fit one word");

  __device__ TileLoader(const GemmParams& p, int m_chunk, int n_tile) {
    const long long k_chunks_total = p.k / nvfp4_layout::kKChunk;
    const int column_blocks = p.n_padded / 16;
#pragma unroll
    for (int j = 0; j < WeightSpread::kIterations; ++j) {
      const int i = WeightSpread::chunk(j);
      const int column_block = n_tile * Shape::kNBlocks + i / kWeightChunksPerColumn;
      const bool valid = column_block < column_blocks;
      valid_mask |= (valid ? 1u : 0u) << j;
      weight_source[j] = reinterpret_cast<const uint4*>(p.weights) +
                         (valid ? column_block : 0) * k_chunks_total * (nvfp4_layout::kWeightAtomBytes / 16) +
                         i % kWeightChunksPerColumn;
    }
#pragma unroll
    for (int j = 0; j < ScaleSpread::kIterations; ++j) {
      const int i = ScaleSpread::chunk(j);
      const int column_block = n_tile * Shape::kNBlocks + i / kScaleChunksPerColumn;
      const bool valid = column_block < column_blocks;
      valid_mask |= (valid ? 1u : 0u) << (kScaleBit + j);
      scale_source[j] = reinterpret_cast<const uint4*>(p.scales) +
                        (valid ? column_block : 0) * k_chunks_total * (nvfp4_layout::kScaleAtomBytes / 16) +
                        i % kScaleChunksPerColumn;
    }
#pragma unroll
    for (int j = 0; j < ActivationSpread::kIterations; ++j) {
      const int i = ActivationSpread::chunk(j);
      const int row = m_chunk * Shape::kTileM + i / Shape::kActivationRowChunks;
      const bool valid = row < p.m;
      valid_mask |= (valid ? 1u : 0u) << (kActivationBit + j);
      activation_source[j] = static_cast<const T*>(p.a) + static_cast<long long>(valid ? row : 0) * p.k +
                             (i % Shape::kActivationRowChunks) * 8;
    }
  }

  __device__ bool valid(int bit) const { return (valid_mask >> bit) & 1u; }

  __device__ void load(unsigned char* stage, int k_tile) const {
    constexpr int kWeightStride = kWeightChunksPerColumn;  // uint4s per K tile in a column block's stream
    constexpr int kScaleStride = kScaleChunksPerColumn;
#pragma unroll
    for (int j = 0; j < WeightSpread::kIterations; ++j) {
      if (WeightSpread::owns(j)) {
        cp_async16(stage + WeightSpread::chunk(j) * 16, weight_source[j] + k_tile * kWeightStride, valid(j));
      }
    }
    unsigned char* scales = stage + Shape::kWeightBytes;
#pragma unroll
    for (int j = 0; j < ScaleSpread::kIterations; ++j) {
      if (ScaleSpread::owns(j)) {
        cp_async16(scales + ScaleSpread::chunk(j) * 16, scale_source[j] + k_tile * kScaleStride,
                   valid(kScaleBit + j));
      }
    }
    unsigned char* activations = scales + Shape::kScaleBytes;
#pragma unroll
    for (int j = 0; j < ActivationSpread::kIterations; ++j) {
      if (ActivationSpread::owns(j)) {
        const int i = ActivationSpread::chunk(j);
        const int r = i / Shape::kActivationRowChunks, chunk = i % Shape::kActivationRowChunks;
        cp_async16(activations + (r * Shape::kActivationRowChunks + (chunk ^ (r & 7))) * 16,
                   activation_source[j] + k_tile * Shape::kTileK, valid(kActivationBit + j));
      }
    }
  }
};

}  // namespace marlin_jit::kernels
