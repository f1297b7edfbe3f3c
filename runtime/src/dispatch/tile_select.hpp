// Tile configuration choice for the dense NVFP4 GEMM: the one place that knows which TileConfigs exist.
// Heuristic (documented in README "Dispatch", measured in bench/NOTES.md v6): the M block grows with M (16 rows per
// block, up to 64); the K tile is 128 where K allows, else 64; a warp owns two 16-column blocks and each 64-deep
// atom of the K tile has its own K-warp; only narrow layers (under SMs/8 128-column tiles) use 64-column tiles;
// the stage count is the deepest (3 to 4) that lets the target number of warps share an SM (16 for M <= 32, 8
// above, where the accumulators take the registers).
#pragma once

#include <cstdint>
#include <vector>

#include "marlin_jit/nvfp4_linear.hpp"
#include "marlin_jit/types.hpp"

namespace marlin_jit::dispatch {

struct DeviceLimits {
  int sm = 90;
  int multiprocessors = 132;
  int max_shared_bytes_per_block = 227 * 1024;  // opt-in limit
  int max_shared_bytes_per_sm = 228 * 1024;
};

DeviceLimits default_limits(int sm);  // the smallest part of each architecture (for precompile without a GPU)

// How a tile's warps split its columns and K (mirrors templates/marlin_jit/gemm/tile_shape.cuh).
struct WarpLayout {
  int columns_per_warp = 2;  // 16-column blocks a warp owns
  int warps_n = 1;           // column groups
  int warps_k = 1;           // warps sharing a column group's K tile
  bool valid = false;        // the template's static_asserts hold
};
WarpLayout warp_layout(const TileConfig& tile);

// Rules tile_config (the template's static_asserts: warp_layout valid, k_blocks a multiple of 4, m_blocks 1..4,
// stages 2..16) and tile_shared_memory (one block fits sm's smallest part): the one check of a tile named in a spec.
void check_tile(const TileConfig& tile, int sm);

// Shared memory of one pipeline stage of `tile`.
int stage_bytes(const TileConfig& tile);

// Shared memory one block of `tile` needs (must match TileShape::kSharedBytes; a unit test compares them).
int shared_bytes(const TileConfig& tile);

// Blocks of `tile` the stage count is sized to fit on one SM.
int target_blocks_per_sm(const TileConfig& tile);

// Blocks of `tile` (stages set) that one SM holds at once: the target, fewer where the minimum pipeline depth
// needs more shared memory than the target leaves each block.
int resident_blocks_per_sm(const TileConfig& tile, const DeviceLimits& limits);

// The tile with its stage count set for `limits` (the deepest that fits target_blocks_per_sm blocks per SM).
TileConfig select_tile_stages(TileConfig tile, const DeviceLimits& limits);

// From this M on, automatic dispatch dequantizes the layer and runs cuBLAS. Measured on an H200 with the row-wise
// dequantizer (bench/results/crossover-h200-20261203.txt, bf16): at M = 128 the Marlin kernel wins on 8192²,
// 28672×8192 and 8192×28672 by 13–18% and ties on 4096²; at M = 160 (a third 64-row M tile) the cuBLAS path wins
// everywhere by 10–44%. (On an H100 with the previous kernels the crossover was 192.)
inline constexpr std::int64_t kDequantGemmMinM = 129;

// Whether automatic dispatch takes the dequantize + cuBLAS path for this shape.
bool prefer_dequant_gemm(std::int64_t m, std::int64_t n, std::int64_t k);

// k: the prepared K (a multiple of 64); n: the output columns.
// Rule gemm_path: whether apply takes the dequantize + cuBLAS path. `path` must be one of GemmPath's values, and
// dequant_cublas needs libcublas (`cublas_available`); automatic takes it when prefer_dequant_gemm and cuBLAS is there.
bool use_dequant_gemm(GemmPath path, std::int64_t m, std::int64_t n, std::int64_t k, bool cublas_available);

TileConfig select_tile(std::int64_t m, std::int64_t n, std::int64_t k, const DeviceLimits& limits);

// The tile of a grouped MoE GEMM: the M block sized for the slots an expert gets on average (rows_per_expert), 64-
// column tiles where 128-column ones would leave SMs idle over the blocks the routing touches (m_blocks_estimate).
TileConfig select_moe_tile(std::int64_t rows_per_expert, std::int64_t n, std::int64_t k,
                           std::int64_t m_blocks_estimate, const DeviceLimits& limits);

// Every configuration select_tile can return for `limits`, over all shapes (for precompile).
std::vector<TileConfig> candidate_tiles(const DeviceLimits& limits);

}  // namespace marlin_jit::dispatch
