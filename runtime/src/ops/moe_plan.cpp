// Launch geometry of one MoE layer call (see moe_plan.hpp).
#include "ops/moe_plan.hpp"

#include <algorithm>

namespace marlin_jit::ops {

std::int64_t worst_case_blocks(std::int64_t slots, std::int64_t experts, int block_rows) {
  const std::int64_t touched = std::min(experts, slots);
  return (slots + touched * (block_rows - 1)) / block_rows;  // each run is a whole number of blocks
}

MoePlan plan_moe(const MoeShape& shape, const dispatch::DeviceLimits& limits) {
  MoePlan plan;
  plan.slots = shape.m * shape.topk;
  const std::int64_t touched = std::min(shape.experts, plan.slots);
  const std::int64_t rows_per_expert = (plan.slots + touched - 1) / touched;  // as if routing were uniform
  const std::int64_t m_blocks_per_expert = (rows_per_expert + 63) / 64;
  plan.gemm1 = dispatch::select_moe_tile(rows_per_expert, shape.gemm1_n, shape.hidden_padded,
                                         touched * m_blocks_per_expert, limits);
  plan.gemm2 = dispatch::select_moe_tile(rows_per_expert, shape.hidden_padded, shape.intermediate_padded,
                                         touched * m_blocks_per_expert, limits);
  plan.block_rows = plan.gemm1.tile_m();
  plan.max_blocks = static_cast<int>(worst_case_blocks(plan.slots, shape.experts, plan.block_rows));
  plan.gemm1_n_tiles = static_cast<int>((shape.gemm1_n + plan.gemm1.tile_n() - 1) / plan.gemm1.tile_n());
  plan.gemm2_n_tiles = static_cast<int>((shape.hidden_padded + plan.gemm2.tile_n() - 1) / plan.gemm2.tile_n());
  plan.gemm1_shared = static_cast<unsigned>(dispatch::shared_bytes(plan.gemm1));
  plan.gemm2_shared = static_cast<unsigned>(dispatch::shared_bytes(plan.gemm2));
  plan.routing_ints = static_cast<std::uint64_t>(plan.max_blocks) * plan.block_rows + plan.max_blocks + 1;
  plan.intermediate_elements = static_cast<std::uint64_t>(plan.slots) * shape.intermediate_padded;
  plan.slot_output_elements = static_cast<std::uint64_t>(plan.slots) * shape.hidden_padded;
  return plan;
}

}  // namespace marlin_jit::ops
