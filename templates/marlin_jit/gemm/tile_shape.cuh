// Compile-time shape of one thread block's tile, its warp layout and its shared-memory pipeline stage.
// Valid shapes are the ones runtime/src/dispatch/tile_select.cpp hands out (its warp_layout() and shared_bytes()
// mirror this file); the static_asserts only catch misuse.
#pragma once

#include "marlin_jit/gemm/nvfp4_layout.cuh"

namespace marlin_jit::kernels {

template <int Threads, int MBlocks, int NBlocks, int KBlocks, int Stages>
struct TileShape {
  static constexpr int kThreads = Threads;
  static constexpr int kWarps = Threads / 32;
  static constexpr int kMBlocks = MBlocks;
  static constexpr int kNBlocks = NBlocks;
  static constexpr int kKBlocks = KBlocks;
  static constexpr int kStages = Stages;
  static constexpr int kTileM = 16 * MBlocks;
  static constexpr int kTileN = 16 * NBlocks;
  static constexpr int kTileK = 16 * KBlocks;
  static constexpr int kKChunks = KBlocks / 4;  // 64-deep layout atoms per tile column

  // Warp layout: a warp owns two 16-column blocks (one ldmatrix of activations feeds 4 MMAs per 16-row block) over
  // a contiguous share of the K tile; warps that share columns sum their partial tiles through shared memory once,
  // after the mainloop. Two columns beat four on an H200 (bench/NOTES.md, v6): the decode, not the activation
  // reads, bounds the kernel, and the halved accumulators leave registers for more warps per SM.
  static constexpr int kColumnsPerWarp = NBlocks < 2 ? NBlocks : 2;
  static constexpr int kWarpsN = NBlocks / kColumnsPerWarp;
  static constexpr int kWarpsK = kWarps / kWarpsN;
  static constexpr int kStepsPerWarp = KBlocks / kWarpsK;                   // k16 steps per warp per stage
  static constexpr int kWordsPerRead = kStepsPerWarp < 4 ? kStepsPerWarp : 4;  // code words per shared read

  // One stage: weights | scales | activations (XOR-swizzled rows of 16-byte chunks).
  static constexpr int kWeightBytes = NBlocks * kKChunks * nvfp4_layout::kWeightAtomBytes;
  static constexpr int kScaleBytes = NBlocks * kKChunks * nvfp4_layout::kScaleAtomBytes;
  static constexpr int kActivationRowChunks = kTileK * 2 / 16;
  static constexpr int kActivationBytes = kTileM * kTileK * 2;
  static constexpr int kStageBytes = kWeightBytes + kScaleBytes + kActivationBytes;
  static constexpr int kPipelineBytes = Stages * kStageBytes;
  // The K-warp reduction reuses the pipeline's memory: per round, half the K-warps park their accumulators.
  static constexpr int kAccumulatorsPerThread = MBlocks * kColumnsPerWarp * 8;
  static constexpr int kReductionBytes = (kWarpsK / 2) * kWarpsN * kAccumulatorsPerThread * 32 * 4;
  static constexpr int kSharedBytes = kPipelineBytes > kReductionBytes ? kPipelineBytes : kReductionBytes;

  static_assert(Threads % 32 == 0 && kWarps >= 1, "whole warps");
  static_assert(NBlocks % kColumnsPerWarp == 0, "N blocks: 1, or a multiple of 2");
  static_assert(kWarps % kWarpsN == 0, "warps cover the column groups evenly");
  static_assert((kWarpsK & (kWarpsK - 1)) == 0, "K-warps: a power of two (tree reduction)");
  static_assert(KBlocks % kWarpsK == 0 && (kStepsPerWarp < 4 ? kStepsPerWarp != 3 : kStepsPerWarp % 4 == 0),
                "each K-warp takes 1, 2 or a multiple of 4 k16 steps per stage");
  static_assert(KBlocks % 4 == 0, "K tile is a multiple of the 64-deep layout atom");
  static_assert(MBlocks >= 1 && MBlocks <= 4, "1 to 4 16-row blocks");
  static_assert(Stages >= 2, "a pipeline needs at least two stages");
};

}  // namespace marlin_jit::kernels
