// Launch geometry and scratch sizes of one MoE layer call: the M block both grouped GEMMs share (the token
// alignment pads each expert's run to it), the worst-case block count over every routing of (M, topk), each GEMM's
// tile, N tiles and K split (gemm_plan's one-chunk rule over the blocks a uniform routing touches, when an expert's
// rows fit one 16-row M block), and the per-stream scratch. Pure arithmetic (no CUDA calls), so it is unit-tested on the CPU.
#pragma once

#include <cstdint>

#include "dispatch/tile_select.hpp"
#include "marlin_jit/types.hpp"

namespace marlin_jit::ops {

// The only M block whose grouped GEMM kernels can split K (the others compile without the split reduction).
inline constexpr int kSplitBlockRows = 16;

struct MoeShape {
  std::int64_t m = 0, topk = 1, experts = 1;
  std::int64_t gemm1_n = 0;       // prepared W1 rows: 2·padded I (gated) or padded I
  std::int64_t hidden = 0;        // H: A's columns in GEMM1, logical output columns of GEMM2
  std::int64_t hidden_padded = 0;  // H rounded up to 64: GEMM1's prepared K, GEMM2's prepared N and row stride
  std::int64_t intermediate_padded = 0;  // padded I: GEMM1's output width, GEMM2's K
};

// One grouped GEMM of the layer: its tile, N tiles, K split and shared memory.
struct GroupedGemmPlan {
  TileConfig tile;
  int n_tiles = 0;
  int splits = 1;
  int k_tiles_per_split = 0;
  unsigned shared_bytes = 0;
};

struct MoePlan {
  std::int64_t slots = 0;       // m · topk
  int block_rows = 16;          // the shared M block (16 · m_blocks)
  int max_blocks = 0;           // M blocks of the worst routing: Σ over touched experts of ceil(count / block_rows)
  GroupedGemmPlan gemm1, gemm2;  // same m_blocks
  std::uint64_t split_workspace_floats = 0;  // partial sums of the larger split GEMM (0: neither splits)
  std::uint64_t split_counters = 0;
  std::uint64_t routing_ints = 0;       // sorted rows (max_blocks · block_rows), block experts, padded total
  std::uint64_t intermediate_elements = 0;  // slots · padded I
  std::uint64_t slot_output_elements = 0;   // slots · padded H
};

// Every routing of `slots` pairs over `experts` pads to at most slots + min(experts, slots)·(block_rows − 1) rows.
std::int64_t worst_case_blocks(std::int64_t slots, std::int64_t experts, int block_rows);

MoePlan plan_moe(const MoeShape& shape, const dispatch::DeviceLimits& limits);

}  // namespace marlin_jit::ops
