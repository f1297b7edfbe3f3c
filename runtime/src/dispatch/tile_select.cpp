// Tile configuration choice for the dense NVFP4 GEMM (see tile_select.hpp for the heuristic).
#include "dispatch/tile_select.hpp"

#include <algorithm>

namespace marlin_jit::dispatch {
namespace {

constexpr int kWeightAtomBytes = 512;  // 16 n × 64 k codes
constexpr int kScaleAtomBytes = 64;

int m_blocks_for(std::int64_t m) { return static_cast<int>(std::clamp<std::int64_t>((m + 15) / 16, 1, 4)); }

constexpr int kMaxStages = 8;

// Deepest pipeline (up to 8 stages) that still lets two blocks share an SM: at small M the kernel is bound by how
// many weight bytes are in flight, and every stage adds one tile's worth.
}  // namespace

TileConfig select_tile_stages(TileConfig tile, const DeviceLimits& limits) {
  const int budget = std::min(limits.max_shared_bytes_per_block, limits.max_shared_bytes_per_sm / 2 - 1024);
  tile.stages = 1;
  const int stage = shared_bytes(tile);
  tile.stages = std::clamp(budget / stage, 2, kMaxStages);
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

int shared_bytes(const TileConfig& tile) {
  const int k_chunks = tile.k_blocks / 4;
  const int stage = tile.n_blocks * k_chunks * (kWeightAtomBytes + kScaleAtomBytes) + tile.tile_m() * tile.tile_k() * 2;
  return tile.stages * stage;
}

bool prefer_dequant_gemm(std::int64_t m, std::int64_t /*n*/, std::int64_t /*k*/) { return m >= kDequantGemmMinM; }

TileConfig select_tile(std::int64_t m, std::int64_t n, std::int64_t k, const DeviceLimits& limits) {
  TileConfig tile;
  tile.m_blocks = m_blocks_for(m);
  tile.k_blocks = (k % 128 == 0) ? 8 : 4;
  const std::int64_t wide_tiles = (n + 127) / 128;
  if (wide_tiles < limits.multiprocessors / 2) {
    tile.threads = 128;
    tile.n_blocks = 4;
  } else {
    tile.threads = 256;
    tile.n_blocks = 8;
  }
  return select_tile_stages(tile, limits);
}

std::vector<TileConfig> candidate_tiles(const DeviceLimits& limits) {
  std::vector<TileConfig> tiles;
  for (int n_blocks : {4, 8}) {
    for (int k_blocks : {4, 8}) {
      for (int m_blocks = 1; m_blocks <= 4; ++m_blocks) {
        TileConfig tile;
        tile.threads = n_blocks == 8 ? 256 : 128;
        tile.n_blocks = n_blocks;
        tile.k_blocks = k_blocks;
        tile.m_blocks = m_blocks;
        tiles.push_back(select_tile_stages(tile, limits));
      }
    }
  }
  return tiles;
}

}  // namespace marlin_jit::dispatch
