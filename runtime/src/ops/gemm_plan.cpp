// Launch geometry of one dense GEMM (see gemm_plan.hpp).
#include "ops/gemm_plan.hpp"

namespace marlin_jit::ops {

GemmPlan plan_gemm(std::int64_t m, std::int64_t n_padded, std::int64_t k, const TileConfig& tile,
                   const dispatch::DeviceLimits& limits) {
  GemmPlan plan;
  plan.tile = tile;
  plan.m_chunks = static_cast<int>((m + tile.tile_m() - 1) / tile.tile_m());
  plan.n_tiles = static_cast<int>((n_padded + tile.tile_n() - 1) / tile.tile_n());
  const int k_tiles = static_cast<int>(k / tile.tile_k());
  const int blocks = plan.m_chunks * plan.n_tiles;
  constexpr int kMinTilesPerSplit = 4;
  constexpr int kMaxSplits = 16;

  const int resident = dispatch::resident_blocks_per_sm(tile, limits) * limits.multiprocessors;
  int best_splits = 1;
  double best_busy = 0;
  if (blocks < resident) {
    for (int splits = 1; splits <= kMaxSplits; ++splits) {
      const int per_split = (k_tiles + splits - 1) / splits;
      if (splits > 1 && per_split < kMinTilesPerSplit) break;
      const int actual_splits = (k_tiles + per_split - 1) / per_split;  // no empty split
      const int total = blocks * actual_splits;
      const int waves = (total + resident - 1) / resident;
      const double busy = static_cast<double>(total) / (static_cast<double>(waves) * resident);
      if (busy > best_busy + 0.02) {
        best_busy = busy;
        best_splits = actual_splits;
      }
    }
  }
  plan.splits = best_splits;
  plan.k_tiles_per_split = (k_tiles + best_splits - 1) / best_splits;
  if (plan.splits > 1) {
    plan.workspace_floats = static_cast<std::uint64_t>(plan.splits) * plan.m_chunks * tile.tile_m() *
                            static_cast<std::uint64_t>(plan.n_tiles) * tile.tile_n();
    plan.counters = static_cast<std::uint64_t>(plan.m_chunks) * plan.n_tiles;
  }
  plan.shared_bytes = static_cast<unsigned>(dispatch::shared_bytes(tile));
  return plan;
}

}  // namespace marlin_jit::ops
