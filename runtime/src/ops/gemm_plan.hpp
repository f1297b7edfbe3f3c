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
GemmPlan plan_gemm(std::int64_t m, std::int64_t n_padded, std::int64_t k, const TileConfig& tile,
                   const dispatch::DeviceLimits& limits);

}  // namespace marlin_jit::ops
