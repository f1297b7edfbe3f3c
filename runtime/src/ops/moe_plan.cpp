// Launch geometry of one MoE layer call (see moe_plan.hpp).
#include "ops/moe_plan.hpp"

#include <algorithm>

#include "ops/gemm_plan.hpp"

namespace marlin_jit::ops {

std::int64_t worst_case_blocks(std::int64_t slots, std::int64_t experts, int block_rows) {
  const std::int64_t touched = std::min(experts, slots);
  return (slots + touched * (block_rows - 1)) / block_rows;  // each run is a whole number of blocks
}

namespace {

GroupedGemmPlan plan_grouped(const TileConfig& tile, std::int64_t n, std::int64_t k, std::int64_t m_blocks_touched,
                             bool may_split, const dispatch::DeviceLimits& limits) {
  GroupedGemmPlan plan;
  plan.tile = tile;
  plan.n_tiles = static_cast<int>((n + tile.tile_n() - 1) / tile.tile_n());
  const int k_tiles = static_cast<int>(k / tile.tile_k());
  const int wanted =
      may_split ? one_chunk_splits(m_blocks_touched * plan.n_tiles, k_tiles, tile, limits) : 1;
  plan.k_tiles_per_split = (k_tiles + wanted - 1) / wanted;
  plan.splits = (k_tiles + plan.k_tiles_per_split - 1) / plan.k_tiles_per_split;
  plan.shared_bytes = static_cast<unsigned>(dispatch::shared_bytes(tile));
  return plan;
}

std::uint64_t split_floats(const GroupedGemmPlan& gemm, int max_blocks, int block_rows) {
  if (gemm.splits == 1) return 0;
  return static_cast<std::uint64_t>(gemm.splits) * static_cast<std::uint64_t>(max_blocks) * block_rows *
         static_cast<std::uint64_t>(gemm.n_tiles) * gemm.tile.tile_n();
}

}  // namespace

MoePlan plan_moe(const MoeShape& shape, const dispatch::DeviceLimits& limits) {
  MoePlan plan;
  plan.slots = shape.m * shape.topk;
  const std::int64_t touched = std::min(shape.experts, plan.slots);
  const std::int64_t rows_per_expert = (plan.slots + touched - 1) / touched;  // as if routing were uniform
  const std::int64_t m_blocks_touched = touched * ((rows_per_expert + 63) / 64);
  const TileConfig tile1 =
      dispatch::select_moe_tile(rows_per_expert, shape.gemm1_n, shape.hidden_padded, m_blocks_touched, limits);
  const TileConfig tile2 = dispatch::select_moe_tile(rows_per_expert, shape.hidden_padded, shape.intermediate_padded,
                                                     m_blocks_touched, limits);
  plan.block_rows = tile1.tile_m();
  // Only 16-row tiles carry the split reduction (templates/marlin_jit/epilogue/moe_store.cuh, gather_moe_splits):
  // a larger tile launched with K splits would store each split's partial sums as the result.
  const bool may_split = plan.block_rows == kSplitBlockRows && rows_per_expert <= plan.block_rows;
  plan.gemm1 = plan_grouped(tile1, shape.gemm1_n, shape.hidden_padded, m_blocks_touched, may_split, limits);
  plan.gemm2 =
      plan_grouped(tile2, shape.hidden_padded, shape.intermediate_padded, m_blocks_touched, may_split, limits);
  plan.max_blocks = static_cast<int>(worst_case_blocks(plan.slots, shape.experts, plan.block_rows));
  plan.split_workspace_floats = std::max(split_floats(plan.gemm1, plan.max_blocks, plan.block_rows),
                                         split_floats(plan.gemm2, plan.max_blocks, plan.block_rows));
  if (plan.split_workspace_floats > 0) {
    plan.split_counters =
        static_cast<std::uint64_t>(plan.max_blocks) * std::max(plan.gemm1.n_tiles, plan.gemm2.n_tiles);
  }
  plan.routing_ints = static_cast<std::uint64_t>(plan.max_blocks) * plan.block_rows + plan.max_blocks + 1;
  plan.intermediate_elements = static_cast<std::uint64_t>(plan.slots) * shape.intermediate_padded;
  plan.slot_output_elements = static_cast<std::uint64_t>(plan.slots) * shape.hidden_padded;
  return plan;
}

}  // namespace marlin_jit::ops
