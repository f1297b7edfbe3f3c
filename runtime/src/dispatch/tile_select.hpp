// Tile configuration choice for the dense NVFP4 GEMM: the one place that knows which TileConfigs exist.
// Heuristic (documented in README "Dispatch"): the M block grows with M (16 rows per block, up to 64); the K tile is
// 128 where K allows, else 64; narrow layers (few 128-column tiles) use 64-column tiles to fill the SMs; the stage
// count is the deepest (≤ 8) that lets two blocks share an SM's shared memory.
#pragma once

#include <cstdint>
#include <vector>

#include "marlin_jit/types.hpp"

namespace marlin_jit::dispatch {

struct DeviceLimits {
  int sm = 90;
  int multiprocessors = 132;
  int max_shared_bytes_per_block = 227 * 1024;  // opt-in limit
  int max_shared_bytes_per_sm = 228 * 1024;
};

DeviceLimits default_limits(int sm);  // the smallest part of each architecture (for precompile without a GPU)

// Shared memory one block of `tile` needs (must match templates/marlin_jit/gemm/tile_shape.cuh).
int shared_bytes(const TileConfig& tile);

// The tile with its stage count set for `limits` (the deepest that fits two blocks per SM).
TileConfig select_tile_stages(TileConfig tile, const DeviceLimits& limits);

// From this M on, automatic dispatch dequantizes the layer and runs cuBLAS. Measured on an H100 with the
// 2.3 TB/s dequantizer (bench/results/crossover-h100-20261124.txt): at M = 192 the cuBLAS path wins on 4096²,
// 8192² and 8192×28672 by 30–45% and loses on 28672×8192 by 11%; at M = 128 the Marlin kernel wins everywhere.
inline constexpr std::int64_t kDequantGemmMinM = 192;

// Whether automatic dispatch takes the dequantize + cuBLAS path for this shape.
bool prefer_dequant_gemm(std::int64_t m, std::int64_t n, std::int64_t k);

TileConfig select_tile(std::int64_t m, std::int64_t n, std::int64_t k, const DeviceLimits& limits);

// Every configuration select_tile can return for `limits`, over all shapes (for precompile).
std::vector<TileConfig> candidate_tiles(const DeviceLimits& limits);

}  // namespace marlin_jit::dispatch
