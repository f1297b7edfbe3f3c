// Launch geometry of one dense GEMM (see gemm_plan.hpp).
#include "ops/gemm_plan.hpp"

#include <algorithm>

namespace marlin_jit::ops {

namespace {

constexpr int kMinTilesPerSplit = 4;  // fewer and the pipeline never fills
constexpr int kMaxSplits = 16;
constexpr int kOneChunkSplits = 4;

// Splits of k_tiles into parts of at least kMinTilesPerSplit tiles, as close to `wanted` as that allows (no empty
// split).
int realisable_splits(int k_tiles, int wanted) {
  const int per_split = std::max(kMinTilesPerSplit, (k_tiles + wanted - 1) / wanted);
  return std::max(1, (k_tiles + per_split - 1) / per_split);
}

// More than one M chunk: the split count that keeps the largest share of the resident blocks busy in the last wave.
int splits_filling_waves(int blocks, int k_tiles, int resident) {
  int best_splits = 1;
  double best_busy = 0;
  for (int wanted = 1; wanted <= kMaxSplits; ++wanted) {
    const int splits = realisable_splits(k_tiles, wanted);
    const int total = blocks * splits;
    const int waves = (total + resident - 1) / resident;
    const double busy = static_cast<double>(total) / (static_cast<double>(waves) * resident);
    if (busy > best_busy + 0.02) {
      best_busy = busy;
      best_splits = splits;
    }
  }
  return best_splits;
}

// One M chunk (M ≤ 64): four splits. Measured on an H200 for the four benchmark shapes at M = 1, 16, 64
// (results/probe_m1_splits-h200-20261203.log, probe_m64_splits-...): four is the fastest or within 2% everywhere,
// whether it leaves resident slots empty or makes several waves, while the wave-filling count picked 7-8 splits
// that cost 3-20%, and five on 4096² (uneven: 7 7 7 7 4 K tiles) cost 8-19%. Only where four would leave most
// SMs without a block (small layers, whose time is mostly latency) the split gives every SM one.
int splits_for_one_chunk(int blocks, int k_tiles, int multiprocessors) {
  const bool four_leave_most_sms_idle = blocks * kOneChunkSplits < multiprocessors / 2;
  const int wanted = four_leave_most_sms_idle ? (multiprocessors + blocks - 1) / blocks : kOneChunkSplits;
  return realisable_splits(k_tiles, std::min(kMaxSplits, wanted));
}

}  // namespace

int one_chunk_splits(std::int64_t blocks, int k_tiles, const TileConfig& tile, const dispatch::DeviceLimits& limits) {
  const std::int64_t resident = dispatch::resident_blocks_per_sm(tile, limits) * limits.multiprocessors;
  if (blocks >= resident) return 1;
  return splits_for_one_chunk(static_cast<int>(blocks), k_tiles, limits.multiprocessors);
}

GemmPlan plan_gemm(std::int64_t m, std::int64_t n_padded, std::int64_t k, const TileConfig& tile,
                   const dispatch::DeviceLimits& limits) {
  GemmPlan plan;
  plan.tile = tile;
  plan.m_chunks = static_cast<int>((m + tile.tile_m() - 1) / tile.tile_m());
  plan.n_tiles = static_cast<int>((n_padded + tile.tile_n() - 1) / tile.tile_n());
  const int k_tiles = static_cast<int>(k / tile.tile_k());
  const int blocks = plan.m_chunks * plan.n_tiles;
  const int resident = dispatch::resident_blocks_per_sm(tile, limits) * limits.multiprocessors;
  int best_splits = 1;
  if (plan.m_chunks == 1) {
    best_splits = one_chunk_splits(blocks, k_tiles, tile, limits);
  } else if (blocks < resident) {  // a grid that already fills every resident slot gains nothing from splitting
    best_splits = splits_filling_waves(blocks, k_tiles, resident);
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
