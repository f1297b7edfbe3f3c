// Tests for runtime/src/ops/moe_plan.cpp: the worst-case block count bounds every routing (checked against brute
// force over small routings), both GEMMs share the M block, K splits cover K exactly, and scratch covers the worst
// case of the shape.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "ops/moe_plan.hpp"

namespace marlin_jit::ops {
namespace {

std::int64_t blocks_of(const std::vector<std::int64_t>& counts, int block_rows) {
  std::int64_t blocks = 0;
  for (std::int64_t c : counts) blocks += (c + block_rows - 1) / block_rows;
  return blocks;
}

TEST(MoePlan, WorstCaseBlocksBoundEveryRoutingAndIsReached) {
  std::mt19937_64 random(std::random_device{}());
  for (int block_rows : {16, 32, 48, 64}) {
    for (std::int64_t experts : {1, 2, 7, 128, 512}) {
      for (std::int64_t slots : {1, 5, 64, 1000, 6 * 4096}) {
        const std::int64_t bound = worst_case_blocks(slots, experts, block_rows);
        for (int trial = 0; trial < 20; ++trial) {
          std::vector<std::int64_t> counts(static_cast<std::size_t>(experts), 0);
          // Skewed and uniform routings alike.
          const std::int64_t spread = trial % 2 == 0 ? experts : std::min<std::int64_t>(experts, 1 + trial);
          for (std::int64_t s = 0; s < slots; ++s) ++counts[random() % static_cast<std::uint64_t>(spread)];
          EXPECT_LE(blocks_of(counts, block_rows), bound) << slots << " slots, " << experts << " experts";
        }
        // The bound is reached: every touched expert one slot past a whole number of blocks.
        std::vector<std::int64_t> worst(static_cast<std::size_t>(std::min(experts, slots)), 1);
        std::int64_t left = slots - static_cast<std::int64_t>(worst.size());
        for (std::size_t e = 0; left > 0; e = (e + 1) % worst.size()) {
          const std::int64_t add = std::min<std::int64_t>(left, block_rows);
          worst[e] += add;
          left -= add;
        }
        EXPECT_EQ(blocks_of(worst, block_rows), bound) << slots << " slots, " << experts << " experts";
      }
    }
  }
}

TEST(MoePlan, OnlySixteenRowTilesSplitK) {
  // The grouped kernels carry the split reduction only for 16-row tiles: a split 48-row tile stored every split's
  // partial sums as the result (caught on the H200 by MoeApply at M = 64, 8 experts, skewed routing).
  const dispatch::DeviceLimits h200 = dispatch::default_limits(90);
  for (std::int64_t experts : {1, 8, 64, 128, 512}) {
    for (std::int64_t topk : {1, 2, 6, 8}) {
      if (topk > experts) continue;
      for (std::int64_t m = 1; m <= 4096; m = m < 16 ? m + 1 : m * 2) {
        MoeShape shape;
        shape.m = m;
        shape.topk = topk;
        shape.experts = experts;
        shape.gemm1_n = 512;
        shape.hidden = shape.hidden_padded = 2688;
        shape.intermediate_padded = 512;
        const MoePlan plan = plan_moe(shape, h200);
        if (plan.gemm1.splits > 1 || plan.gemm2.splits > 1) {
          EXPECT_EQ(plan.block_rows, kSplitBlockRows) << "E=" << experts << " topk=" << topk << " M=" << m;
        }
      }
    }
  }
}

TEST(MoePlan, BothGemmsShareTheMBlockAndScratchCoversTheShape) {
  const dispatch::DeviceLimits h200 = dispatch::default_limits(90);
  for (std::int64_t m : {1, 16, 64, 256, 1024, 4096}) {
    MoeShape shape;
    shape.m = m;
    shape.topk = 6;
    shape.experts = 128;
    shape.gemm1_n = 1856;
    shape.hidden = 2688;
    shape.hidden_padded = 2688;
    shape.intermediate_padded = 1856;
    const MoePlan plan = plan_moe(shape, h200);
    SCOPED_TRACE("M=" + std::to_string(m));
    EXPECT_EQ(plan.gemm1.tile.m_blocks, plan.gemm2.tile.m_blocks);
    EXPECT_EQ(plan.block_rows, 16 * plan.gemm1.tile.m_blocks);
    EXPECT_EQ(plan.slots, 6 * m);
    EXPECT_EQ(plan.max_blocks, worst_case_blocks(plan.slots, 128, plan.block_rows));
    EXPECT_EQ(plan.routing_ints,
              static_cast<std::uint64_t>(plan.max_blocks) * static_cast<std::uint64_t>(plan.block_rows + 1) + 1);
    EXPECT_EQ(plan.intermediate_elements, static_cast<std::uint64_t>(6 * m * 1856));
    EXPECT_EQ(plan.slot_output_elements, static_cast<std::uint64_t>(6 * m * 2688));
    EXPECT_GE(plan.gemm1.n_tiles * plan.gemm1.tile.tile_n(), 1856);
    EXPECT_GE(plan.gemm2.n_tiles * plan.gemm2.tile.tile_n(), 2688);
    EXPECT_EQ(2688 % plan.gemm1.tile.tile_k(), 0);  // each GEMM's K tile divides its prepared K
    EXPECT_EQ(1856 % plan.gemm2.tile.tile_k(), 0);
    EXPECT_LE(plan.gemm1.shared_bytes, static_cast<unsigned>(h200.max_shared_bytes_per_block));
    for (const GroupedGemmPlan* gemm : {&plan.gemm1, &plan.gemm2}) {
      const int k_tiles = (gemm == &plan.gemm1 ? 2688 : 1856) / gemm->tile.tile_k();
      // Every split gets K tiles, and together they cover K exactly once.
      EXPECT_GE(gemm->splits, 1);
      EXPECT_LT((gemm->splits - 1) * gemm->k_tiles_per_split, k_tiles);
      EXPECT_GE(gemm->splits * gemm->k_tiles_per_split, k_tiles);
      if (gemm->splits > 1) {
        EXPECT_GE(plan.split_workspace_floats, static_cast<std::uint64_t>(gemm->splits) * plan.max_blocks *
                                                   plan.block_rows * gemm->n_tiles * gemm->tile.tile_n());
        EXPECT_GE(plan.split_counters, static_cast<std::uint64_t>(plan.max_blocks) * gemm->n_tiles);
      }
    }
  }
  {  // decode: six experts touched, far fewer blocks than the H200 holds, so both GEMMs split K four ways
    MoeShape decode;
    decode.m = 1;
    decode.topk = 6;
    decode.experts = 128;
    decode.gemm1_n = 1856;
    decode.hidden = decode.hidden_padded = 2688;
    decode.intermediate_padded = 1856;
    const MoePlan plan = plan_moe(decode, h200);
    EXPECT_EQ(plan.gemm1.splits, 4);
    EXPECT_EQ(plan.gemm2.splits, 4);
    decode.m = 1024;  // 48 slots per expert, 128 experts: the grid fills the GPU, no split
    EXPECT_EQ(plan_moe(decode, h200).gemm1.splits, 1);
  }
  MoeShape one;
  one.m = 1;
  one.topk = 8;
  one.experts = 128;
  one.gemm1_n = 2 * 1536;
  one.hidden = one.hidden_padded = 4096;
  one.intermediate_padded = 1536;
  EXPECT_EQ(plan_moe(one, h200).gemm1.tile.m_blocks, 1) << "one token per expert takes the 16-row block";
  one.m = 4096;
  EXPECT_EQ(plan_moe(one, h200).gemm1.tile.m_blocks, 4) << "256 slots per expert take the 64-row block";
}

}  // namespace
}  // namespace marlin_jit::ops
