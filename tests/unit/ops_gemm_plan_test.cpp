// Tests for runtime/src/ops/gemm_plan.cpp: the K split every plan makes is realisable (no empty split, each split
// deep enough to fill the pipeline, workspace sized for it), and the split counts measured best on an H200.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "dispatch/tile_select.hpp"
#include "marlin_jit/dispatch.hpp"
#include "ops/gemm_plan.hpp"

namespace marlin_jit {
namespace {

ops::GemmPlan plan_for(std::int64_t m, std::int64_t n, std::int64_t k, const dispatch::DeviceLimits& limits) {
  const TileConfig tile = dispatch::select_tile(m, n, k, limits);
  const std::int64_t n_padded = (n + kNGranularity - 1) / kNGranularity * kNGranularity;  // as prepared
  return ops::plan_gemm(m, n_padded, k, tile, limits);
}

TEST(GemmPlan, EverySplitIsNonEmptyDeepEnoughAndHasItsWorkspace) {
  for (int sm : {80, 86, 90}) {
    const dispatch::DeviceLimits limits = dispatch::default_limits(sm);
    for (std::int64_t m : {1, 16, 33, 64, 65, 128, 257}) {
      for (std::int64_t n : {64, 200, 2688, 4096, 8192, 28672}) {
        for (std::int64_t k : {64, 256, 1856, 4096, 8192, 28672}) {
          const ops::GemmPlan plan = plan_for(m, n, k, limits);
          SCOPED_TRACE("sm_" + std::to_string(sm) + " m=" + std::to_string(m) + " n=" + std::to_string(n) +
                       " k=" + std::to_string(k) + " " + to_string(plan.tile));
          const int k_tiles = static_cast<int>(k / plan.tile.tile_k());
          ASSERT_GE(plan.splits, 1);
          EXPECT_LE(plan.splits, 16);
          EXPECT_GE(plan.splits * plan.k_tiles_per_split, k_tiles);
          EXPECT_LT((plan.splits - 1) * plan.k_tiles_per_split, k_tiles);  // the last split has work
          if (plan.splits > 1) {
            EXPECT_GE(plan.k_tiles_per_split, 4);
            EXPECT_EQ(plan.workspace_floats, static_cast<std::uint64_t>(plan.splits) * plan.m_chunks *
                                                 plan.tile.tile_m() * plan.n_tiles * plan.tile.tile_n());
            EXPECT_EQ(plan.counters, static_cast<std::uint64_t>(plan.m_chunks) * plan.n_tiles);
          } else {
            EXPECT_EQ(plan.workspace_floats, 0u);
          }
        }
      }
    }
  }
}

TEST(GemmPlan, OneMChunkSplitsFourWaysUnlessThatLeavesMostSmsIdle) {
  const dispatch::DeviceLimits h200 = dispatch::default_limits(90);  // 132 SMs
  for (std::int64_t m : {1, 16, 64}) {
    SCOPED_TRACE("m=" + std::to_string(m));
    EXPECT_EQ(plan_for(m, 8192, 8192, h200).splits, 4);   // 64 tiles
    EXPECT_EQ(plan_for(m, 8192, 28672, h200).splits, 4);  // 64 tiles
    EXPECT_EQ(plan_for(m, 4096, 4096, h200).splits, 4);   // 32 tiles: 128 blocks
  }
  EXPECT_EQ(plan_for(1, 28672, 8192, h200).splits, 4);   // 224 tiles, fewer than the 264 resident slots
  EXPECT_EQ(plan_for(64, 28672, 8192, h200).splits, 1);  // 224 tiles fill the 132 slots of one block per SM
  EXPECT_EQ(plan_for(1, 8192, 256, h200).splits, 1);     // 2 K tiles: nothing to split
  // 1024×8192 at M = 1 takes 64-column tiles: 16 of them, four splits would leave 68 of 132 SMs idle, so nine are
  // wanted, realised as 8 (64 K tiles in parts of 8): 128 blocks.
  EXPECT_EQ(plan_for(1, 1024, 8192, h200).splits, 8);
}

}  // namespace
}  // namespace marlin_jit
