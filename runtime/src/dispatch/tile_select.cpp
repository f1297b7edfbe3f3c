// Tile configuration choice for the dense NVFP4 GEMM (see tile_select.hpp for the heuristic).
#include "dispatch/tile_select.hpp"

#include <algorithm>
#include <string>

#include "marlin_jit/error.hpp"

namespace marlin_jit::dispatch {
namespace {

constexpr int kWeightAtomBytes = 512;  // 16 n × 64 k codes
constexpr int kScaleAtomBytes = 64;
constexpr int kMaxStages = 4;  // deeper measured no faster on an H200 once the blocks per SM are kept (NOTES v6)
constexpr int kMinStages = 3;  // two stages leave one copy in flight while a stage computes: fewer blocks do better
// Warps per SM the stage count is sized for: at small M enough warps to hide the decode's latency. Above M = 32
// one 8-warp block; the four-way K split (ops/gemm_plan.cpp) still makes enough blocks for the hardware to run
// two per SM where they fit. Sizing for two (NOTES v7b) made the wave-filling split rule over-split.
constexpr int kTargetWarpsSmallM = 16;
constexpr int kTargetWarpsLargeM = 8;
constexpr int kReservedSharedBytesPerBlock = 1024;  // the driver's per-block reservation on SM80-SM90

int m_blocks_for(std::int64_t m) { return static_cast<int>(std::clamp<std::int64_t>((m + 15) / 16, 1, 4)); }

bool is_power_of_two(int x) { return x > 0 && (x & (x - 1)) == 0; }

// The tile for a column-block count and K tile: two columns a warp, one K-warp per 64-deep atom. Where the
// minimum pipeline of that K tile would not fit one block's shared memory, the K tile halves.
TileConfig make_tile(int m_blocks, int n_blocks, int k_blocks, const DeviceLimits& limits) {
  TileConfig tile;
  tile.m_blocks = m_blocks;
  tile.n_blocks = n_blocks;
  tile.k_blocks = k_blocks;
  while (tile.k_blocks > 4 && kMinStages * stage_bytes(tile) > limits.max_shared_bytes_per_block) tile.k_blocks /= 2;
  tile.threads = 32 * (n_blocks / 2) * (tile.k_blocks / 4);
  return tile;
}

}  // namespace

WarpLayout warp_layout(const TileConfig& tile) {
  WarpLayout layout;
  const int warps = tile.threads / 32;
  layout.columns_per_warp = std::min(tile.n_blocks, 2);
  if (tile.threads % 32 != 0 || warps < 1 || layout.columns_per_warp < 1 || tile.n_blocks % layout.columns_per_warp != 0) {
    return layout;
  }
  layout.warps_n = tile.n_blocks / layout.columns_per_warp;
  if (warps % layout.warps_n != 0) return layout;
  layout.warps_k = warps / layout.warps_n;
  if (!is_power_of_two(layout.warps_k) || tile.k_blocks % layout.warps_k != 0) return layout;
  const int steps = tile.k_blocks / layout.warps_k;
  layout.valid = steps == 1 || steps == 2 || steps % 4 == 0;
  return layout;
}

void check_tile(const TileConfig& tile, int sm) {
  const bool valid = tile.threads >= 32 && tile.threads <= 1024 && tile.n_blocks >= 1 && tile.k_blocks >= 4 &&
                     tile.k_blocks % 4 == 0 && tile.m_blocks >= 1 && tile.m_blocks <= 4 && tile.stages >= 2 &&
                     tile.stages <= 16 && warp_layout(tile).valid;
  if (!valid) {
    throw ConfigError("tile_config", to_string(tile),
                      "threads a multiple of 32, at most 1024; each warp owns min(2, n_blocks) 16-column blocks; "
                      "the warps per column group a power of two taking 1, 2 or a multiple of 4 of the k_blocks (a "
                      "multiple of 4); m_blocks 1..4; stages 2..16",
                      "tile " + to_string(tile) + " is not a valid GEMM tile");
  }
  const DeviceLimits limits = default_limits(sm);
  if (shared_bytes(tile) > limits.max_shared_bytes_per_block) {
    throw ConfigError("tile_shared_memory", std::to_string(shared_bytes(tile)),
                      "<= " + std::to_string(limits.max_shared_bytes_per_block),
                      "tile " + to_string(tile) + " needs " + std::to_string(shared_bytes(tile)) +
                          " bytes of shared memory, more than sm_" + std::to_string(sm) + " gives a block");
  }
}

int stage_bytes(const TileConfig& tile) {
  const int k_chunks = tile.k_blocks / 4;
  return tile.n_blocks * k_chunks * (kWeightAtomBytes + kScaleAtomBytes) + tile.tile_m() * tile.tile_k() * 2;
}

int shared_bytes(const TileConfig& tile) {
  const WarpLayout layout = warp_layout(tile);
  const int stage = stage_bytes(tile);
  const int accumulators = tile.m_blocks * layout.columns_per_warp * 8;
  const int reduction = (layout.warps_k / 2) * layout.warps_n * accumulators * 32 * 4;
  return std::max(tile.stages * stage, reduction);
}

int target_blocks_per_sm(const TileConfig& tile) {
  const int warps = std::max(1, tile.threads / 32);
  return std::max(1, (tile.m_blocks <= 2 ? kTargetWarpsSmallM : kTargetWarpsLargeM) / warps);
}

int resident_blocks_per_sm(const TileConfig& tile, const DeviceLimits& limits) {
  const int fit = limits.max_shared_bytes_per_sm / (shared_bytes(tile) + kReservedSharedBytesPerBlock);
  return std::clamp(fit, 1, target_blocks_per_sm(tile));
}

TileConfig select_tile_stages(TileConfig tile, const DeviceLimits& limits) {
  const int stage = stage_bytes(tile);
  const int per_sm_budget = limits.max_shared_bytes_per_sm / target_blocks_per_sm(tile) - kReservedSharedBytesPerBlock;
  const int most = std::min(kMaxStages, limits.max_shared_bytes_per_block / stage);  // what one block may hold
  tile.stages = std::clamp(per_sm_budget / stage, std::min(kMinStages, most), most);
  return tile;
}

DeviceLimits default_limits(int sm) {
  DeviceLimits limits;
  limits.sm = sm;
  switch (sm) {
    case 80: limits.multiprocessors = 108; limits.max_shared_bytes_per_block = 163 * 1024; limits.max_shared_bytes_per_sm = 164 * 1024; break;
    case 87: limits.multiprocessors = 16; limits.max_shared_bytes_per_block = 163 * 1024; limits.max_shared_bytes_per_sm = 164 * 1024; break;
    case 90: limits.multiprocessors = 132; limits.max_shared_bytes_per_block = 227 * 1024; limits.max_shared_bytes_per_sm = 228 * 1024; break;
    default: limits.multiprocessors = 84; limits.max_shared_bytes_per_block = 99 * 1024; limits.max_shared_bytes_per_sm = 100 * 1024; break;  // 86, 89
  }
  return limits;
}

bool prefer_dequant_gemm(std::int64_t m, std::int64_t /*n*/, std::int64_t /*k*/) { return m >= kDequantGemmMinM; }

bool use_dequant_gemm(GemmPath path, std::int64_t m, std::int64_t n, std::int64_t k, bool cublas_available) {
  if (path != GemmPath::automatic && path != GemmPath::marlin && path != GemmPath::dequant_cublas) {
    throw ConfigError("gemm_path", std::to_string(static_cast<int>(path)), "automatic, marlin, dequant_cublas",
                      "unknown GEMM path " + std::to_string(static_cast<int>(path)));
  }
  if (path == GemmPath::dequant_cublas && !cublas_available) {
    throw ConfigError("gemm_path", "dequant_cublas", "libcublas.so.13 loadable",
                      "the dequantize + cuBLAS path needs libcublas, which could not be loaded");
  }
  return path == GemmPath::dequant_cublas ||
         (path == GemmPath::automatic && prefer_dequant_gemm(m, n, k) && cublas_available);
}

TileConfig select_tile(std::int64_t m, std::int64_t n, std::int64_t k, const DeviceLimits& limits) {
  const int k_blocks = k % 128 == 0 ? 8 : 4;
  const bool narrow = (n + 127) / 128 < limits.multiprocessors / 8;  // wide tiles split K instead (NOTES v6)
  return select_tile_stages(make_tile(m_blocks_for(m), narrow ? 4 : 8, k_blocks, limits), limits);
}

TileConfig select_moe_tile(std::int64_t rows_per_expert, std::int64_t n, std::int64_t k,
                           std::int64_t m_blocks_estimate, const DeviceLimits& limits) {
  const int k_blocks = k % 128 == 0 ? 8 : 4;
  const bool narrow = (n + 127) / 128 * m_blocks_estimate < limits.multiprocessors;
  return select_tile_stages(make_tile(m_blocks_for(rows_per_expert), narrow ? 4 : 8, k_blocks, limits), limits);
}

std::vector<TileConfig> candidate_tiles(const DeviceLimits& limits) {
  std::vector<TileConfig> tiles;
  for (int n_blocks : {4, 8}) {
    for (int k_blocks : {4, 8}) {
      for (int m_blocks = 1; m_blocks <= 4; ++m_blocks) {
        tiles.push_back(select_tile_stages(make_tile(m_blocks, n_blocks, k_blocks, limits), limits));
      }
    }
  }
  return tiles;
}

}  // namespace marlin_jit::dispatch
