// Tests for runtime/src/dispatch/tile_select.cpp: the host's mirror of the kernel's warp layout and shared memory
// agrees with the template (templates/marlin_jit/gemm/tile_shape.cuh is constexpr-only, so it compiles here as plain
// C++), every tile the dispatcher can hand out is in the mirrored list and fits its device, and the choice rules.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <tuple>

#include "dispatch/tile_select.hpp"
#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/gemm/tile_shape.cuh"

namespace marlin_jit {
namespace {

// Every tile candidate_tiles() returns for some supported SM: (threads, m_blocks, n_blocks, k_blocks, stages).
#define MIRRORED_TILES(X)                                                                                      \
  X(64, 1, 4, 4, 3) X(64, 1, 4, 4, 4) X(64, 2, 4, 4, 3) X(64, 2, 4, 4, 4) X(64, 3, 4, 4, 3) X(64, 3, 4, 4, 4)  \
  X(64, 4, 4, 4, 3) X(64, 4, 4, 4, 4) X(128, 1, 4, 8, 3) X(128, 1, 4, 8, 4) X(128, 1, 8, 4, 3)               \
  X(128, 1, 8, 4, 4) X(128, 2, 4, 8, 3) X(128, 2, 4, 8, 4) X(128, 2, 8, 4, 3) X(128, 2, 8, 4, 4)             \
  X(128, 3, 4, 8, 3) X(128, 3, 4, 8, 4) X(128, 3, 8, 4, 4) X(128, 4, 4, 8, 3) X(128, 4, 4, 8, 4)             \
  X(128, 4, 8, 4, 3) X(128, 4, 8, 4, 4) X(256, 1, 8, 8, 3) X(256, 1, 8, 8, 4) X(256, 2, 8, 8, 3)             \
  X(256, 2, 8, 8, 4) X(256, 3, 8, 8, 4) X(256, 4, 8, 8, 3) X(256, 4, 8, 8, 4)

using TileKey = std::tuple<int, int, int, int, int>;
TileKey key_of(const TileConfig& t) { return {t.threads, t.m_blocks, t.n_blocks, t.k_blocks, t.stages}; }

template <int Th, int Mb, int Nb, int Kb, int St>
void expect_host_mirrors_template() {
  using Shape = kernels::TileShape<Th, Mb, Nb, Kb, St>;
  const TileConfig tile{Th, Mb, Nb, Kb, St};
  SCOPED_TRACE(to_string(tile));
  const dispatch::WarpLayout layout = dispatch::warp_layout(tile);
  EXPECT_TRUE(layout.valid);
  EXPECT_EQ(layout.columns_per_warp, Shape::kColumnsPerWarp);
  EXPECT_EQ(layout.warps_n, Shape::kWarpsN);
  EXPECT_EQ(layout.warps_k, Shape::kWarpsK);
  EXPECT_EQ(dispatch::stage_bytes(tile), Shape::kStageBytes);
  EXPECT_EQ(dispatch::shared_bytes(tile), Shape::kSharedBytes);
}

TEST(TileSelect, HostWarpLayoutAndSharedMemoryMatchTheKernelTemplate) {
#define EXPECT_MIRROR(Th, Mb, Nb, Kb, St) expect_host_mirrors_template<Th, Mb, Nb, Kb, St>();
  MIRRORED_TILES(EXPECT_MIRROR)
#undef EXPECT_MIRROR
}

TEST(TileSelect, EveryCandidateOnEverySupportedSmIsMirroredAndFitsTheDevice) {
  std::set<TileKey> mirrored;
#define INSERT(Th, Mb, Nb, Kb, St) mirrored.insert({Th, Mb, Nb, Kb, St});
  MIRRORED_TILES(INSERT)
#undef INSERT
  for (int sm : kSupportedSms) {
    const dispatch::DeviceLimits limits = dispatch::default_limits(sm);
    for (const TileConfig& tile : dispatch::candidate_tiles(limits)) {
      SCOPED_TRACE("sm_" + std::to_string(sm) + " " + to_string(tile));
      EXPECT_TRUE(mirrored.count(key_of(tile))) << "add it to MIRRORED_TILES so the template check covers it";
      EXPECT_TRUE(dispatch::warp_layout(tile).valid);
      EXPECT_LE(dispatch::shared_bytes(tile), limits.max_shared_bytes_per_block);
      EXPECT_GE(tile.stages, 3);
      EXPECT_LE(tile.stages, 8);
      // The K-split heuristic counts this many blocks per SM: they must fit together.
      const int resident = dispatch::resident_blocks_per_sm(tile, limits);
      EXPECT_GE(resident, 1);
      EXPECT_LE(resident, dispatch::target_blocks_per_sm(tile));
      EXPECT_LE(resident * (dispatch::shared_bytes(tile) + 1024), limits.max_shared_bytes_per_sm);
    }
  }
}

TEST(TileSelect, ResidentBlocksAreWhatFitsNotWhatTheStagesWereSizedFor) {
  const dispatch::DeviceLimits sm90 = dispatch::default_limits(90);
  EXPECT_EQ(dispatch::resident_blocks_per_sm(dispatch::select_tile(1, 8192, 8192, sm90), sm90), 2);
  EXPECT_EQ(dispatch::resident_blocks_per_sm(dispatch::select_tile(64, 8192, 8192, sm90), sm90), 1);
  // sm_86 has 100 KB per SM: three stages of the 32-row wide tile leave room for one block, not the two wished.
  const dispatch::DeviceLimits sm86 = dispatch::default_limits(86);
  const TileConfig tile = dispatch::select_tile(17, 8192, 8192, sm86);
  EXPECT_EQ(dispatch::target_blocks_per_sm(tile), 2) << to_string(tile);
  EXPECT_EQ(dispatch::resident_blocks_per_sm(tile, sm86), 1) << to_string(tile);
}

TEST(TileSelect, EveryPickIsACandidate) {
  for (int sm : kSupportedSms) {
    const dispatch::DeviceLimits limits = dispatch::default_limits(sm);
    std::set<TileKey> candidates;
    for (const TileConfig& tile : dispatch::candidate_tiles(limits)) candidates.insert(key_of(tile));
    for (std::int64_t m : {1, 7, 16, 17, 33, 48, 64, 65, 191, 4096}) {
      for (std::int64_t n : {64, 200, 4096, 8192, 28672}) {
        for (std::int64_t k : {64, 128, 192, 256, 1856, 8192, 13824}) {
          const TileConfig tile = dispatch::select_tile(m, n, k, limits);
          EXPECT_TRUE(candidates.count(key_of(tile))) << "sm_" << sm << " m=" << m << " n=" << n << " k=" << k
                                                      << ": " << to_string(tile) << " is not precompiled";
          EXPECT_EQ(k % tile.tile_k(), 0) << "k=" << k << " " << to_string(tile);
        }
      }
    }
  }
}

TEST(TileSelect, NarrowLayersTakeHalfWidthTiles) {
  const dispatch::DeviceLimits limits = dispatch::default_limits(90);
  EXPECT_EQ(dispatch::select_tile(1, 200, 256, limits).n_blocks, 4);
  EXPECT_EQ(dispatch::select_tile(1, 4096, 4096, limits).n_blocks, 8);
}

TEST(TileSelect, KTileIsTheDeepestThatDividesK) {
  const dispatch::DeviceLimits limits = dispatch::default_limits(90);
  EXPECT_EQ(dispatch::select_tile(1, 8192, 8192, limits).k_blocks, 8);
  EXPECT_EQ(dispatch::select_tile(1, 8192, 8192 + 64, limits).k_blocks, 4);
  EXPECT_EQ(dispatch::select_tile(1, 8192, 1856, limits).k_blocks, 4);
}

TEST(TileSelect, MBlockGrowsWithMUpTo64Rows) {
  const dispatch::DeviceLimits limits = dispatch::default_limits(90);
  EXPECT_EQ(dispatch::select_tile(1, 8192, 8192, limits).m_blocks, 1);
  EXPECT_EQ(dispatch::select_tile(16, 8192, 8192, limits).m_blocks, 1);
  EXPECT_EQ(dispatch::select_tile(17, 8192, 8192, limits).m_blocks, 2);
  EXPECT_EQ(dispatch::select_tile(64, 8192, 8192, limits).m_blocks, 4);
  EXPECT_EQ(dispatch::select_tile(4096, 8192, 8192, limits).m_blocks, 4);
}

TEST(TileSelect, LayoutsTheTemplateWouldRejectAreInvalid) {
  EXPECT_FALSE(dispatch::warp_layout(TileConfig{96, 1, 4, 8, 3}).valid);   // 3 K-warps: not a power of two
  EXPECT_FALSE(dispatch::warp_layout(TileConfig{256, 1, 8, 12, 3}).valid);  // 3 k16 steps a K-warp
  EXPECT_FALSE(dispatch::warp_layout(TileConfig{128, 1, 5, 8, 3}).valid);   // 5 columns: not whole 2-column groups
  EXPECT_FALSE(dispatch::warp_layout(TileConfig{32, 1, 8, 8, 3}).valid);    // 2 column groups, 1 warp
  EXPECT_FALSE(dispatch::warp_layout(TileConfig{100, 1, 4, 8, 3}).valid);   // not whole warps
  EXPECT_TRUE(dispatch::warp_layout(TileConfig{512, 1, 8, 8, 3}).valid);    // 2 steps a K-warp: half atoms
}

}  // namespace
}  // namespace marlin_jit
