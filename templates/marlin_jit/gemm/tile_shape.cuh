// Compile-time shape of one thread block's tile and its shared-memory pipeline stage.
// Valid shapes are the ones runtime/src/dispatch/tile_select.cpp hands out; the static_asserts only catch misuse.
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
  static constexpr int kColumnsPerWarp = NBlocks / kWarps;  // 16-column blocks each warp owns
  static constexpr int kKChunks = KBlocks / 4;              // 64-deep atoms per tile column

  // One stage: weights | scales | activations (XOR-swizzled rows of 16-byte chunks).
  static constexpr int kWeightBytes = NBlocks * kKChunks * nvfp4_layout::kWeightAtomBytes;
  static constexpr int kScaleBytes = NBlocks * kKChunks * nvfp4_layout::kScaleAtomBytes;
  static constexpr int kActivationRowChunks = kTileK * 2 / 16;
  static constexpr int kActivationBytes = kTileM * kTileK * 2;
  static constexpr int kStageBytes = kWeightBytes + kScaleBytes + kActivationBytes;
  static constexpr int kSharedBytes = Stages * kStageBytes;

  static_assert(Threads % 32 == 0 && kWarps >= 1, "whole warps");
  static_assert(NBlocks % kWarps == 0, "each warp owns whole 16-column blocks");
  static_assert(KBlocks % 4 == 0, "K tile is a multiple of the 64-deep layout atom");
  static_assert(MBlocks >= 1 && MBlocks <= 4, "1 to 4 16-row blocks");
  static_assert(Stages >= 2, "a pipeline needs at least two stages");
};

}  // namespace marlin_jit::kernels
