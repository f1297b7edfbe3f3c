// Launch geometry of one dense GEMM: grid, K splits and workspace, for a chosen tile configuration.
// Pure arithmetic (no CUDA calls), shared by apply_nvfp4_linear and the kernel probe.
#pragma once

#include <cstdint>

#include "dispatch/tile_select.hpp"
#include "marlin_jit/types.hpp"

namespace marlin_jit::ops {

struct GemmPlan {
  TileConfig tile;
  int m_chunks = 1;
  int n_tiles = 1;
  int splits = 1;
  int k_tiles_per_split = 1;
  std::uint64_t workspace_floats = 0;  // 0 when splits == 1
  std::uint64_t counters = 0;
  unsigned shared_bytes = 0;
};

// Splits K only when the (M chunk, N tile) grid leaves resident slots empty; each split keeps at least a few K
// tiles so the pipeline fills. One M chunk: four splits (more only where four leave most SMs idle); more chunks: the
// count that keeps the largest share of resident blocks busy in the last wave (see gemm_plan.cpp).
// The K split of a grid of `blocks` blocks that each own one M chunk (dense at M <= 64, and the grouped MoE GEMMs):
// none where the grid already fills every resident slot, else four (more only where four leave most SMs idle),
// each split keeping at least a few K tiles. The same rule plan_gemm applies to one M chunk.
int one_chunk_splits(std::int64_t blocks, int k_tiles, const TileConfig& tile, const dispatch::DeviceLimits& limits);

GemmPlan plan_gemm(std::int64_t m, std::int64_t n_padded, std::int64_t k, const TileConfig& tile,
                   const dispatch::DeviceLimits& limits);

}  // namespace marlin_jit::ops
