// Store statistics: hits, misses, compiles, compile time, damage, evictions and unwritable publishes, counted in
// this process and accumulated across every process and store that used the same root.
#include <gtest/gtest.h>

#include <thread>

#include "marlin_jit/cache/disk_store.hpp"
#include "temp_cache_dir.hpp"

using namespace marlin_jit::cache;
using marlin_jit::test::make_entry;
using marlin_jit::test::options_for;
using marlin_jit::test::TempCacheDir;
using marlin_jit::test::test_key;
namespace fs = std::filesystem;

TEST(StoreStats, CountsHitsMissesCompilesAndCompileTime) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path()));
  auto slow_build = [] {
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    return make_entry(test_key(1));
  };
  store.get_or_build(test_key(1), slow_build);  // miss + compile
  store.get_or_build(test_key(1), slow_build);  // hit
  store.lookup(test_key(1));                    // hit
  store.lookup(test_key(2));                    // miss
  const StoreStats stats = store.stats();
  EXPECT_EQ(stats.disk_hits, 2u);
  EXPECT_EQ(stats.misses, 2u);
  EXPECT_EQ(stats.compiles, 1u);
  EXPECT_GE(stats.compile_seconds, 0.05);
  EXPECT_LT(stats.compile_seconds, 5.0);
  EXPECT_EQ(stats.damaged, 0u);
  EXPECT_EQ(stats.unwritable, 0u);
}

TEST(StoreStats, AccumulateAcrossStoresAndProcesses) {
  TempCacheDir dir;
  {
    DiskStore first(options_for(dir.path()));
    first.get_or_build(test_key(1), [] { return make_entry(test_key(1)); });
    first.lookup(test_key(1));
  }
  const pid_t child = marlin_jit::test::fork_child([&] {
    DiskStore in_child(options_for(dir.path()));
    in_child.get_or_build(test_key(2), [] { return make_entry(test_key(2)); });
    in_child.lookup(test_key(1));
    return 0;  // the store's destructor saved the counters
  });
  ASSERT_EQ(marlin_jit::test::wait_child(child), 0);

  DiskStore later(options_for(dir.path()));
  later.lookup(test_key(3));
  const StoreStats stats = later.stats();
  EXPECT_EQ(stats.compiles, 2u);
  EXPECT_EQ(stats.misses, 3u);
  EXPECT_EQ(stats.disk_hits, 2u);
}

TEST(StoreStats, StatsOfAStoreIncludeItsOwnUnsavedCounts) {
  TempCacheDir dir;
  DiskStore a(options_for(dir.path())), b(options_for(dir.path()));
  a.lookup(test_key(1));
  b.lookup(test_key(1));
  EXPECT_EQ(a.stats().misses, 1u);  // b's miss is not saved yet (saved in batches, and on destruction)
  EXPECT_EQ(b.stats().misses, 1u);
}

TEST(StoreStats, CountsDamagedEntriesAndEvictions) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path(), 0));
  const std::string hex = test_key(1).hex();
  marlin_jit::test::write_bytes(dir / hex.substr(0, 2) / (hex + ".mjk"), "junk");
  marlin_jit::test::LogCapture quiet;
  store.lookup(test_key(1));
  store.publish(make_entry(test_key(2)));
  store.prune(0);
  const StoreStats stats = store.stats();
  EXPECT_EQ(stats.damaged, 1u);
  EXPECT_EQ(stats.evictions, 1u);
}

TEST(StoreStats, CountsPublishesThatCouldNotBeWritten) {
  TempCacheDir dir;
  marlin_jit::test::write_bytes(dir / "file", "x");
  DiskStore store(options_for(dir / "file" / "cache"));
  marlin_jit::test::LogCapture quiet;
  store.get_or_build(test_key(1), [] { return make_entry(test_key(1)); });
  store.get_or_build(test_key(1), [] { return make_entry(test_key(1)); });
  const StoreStats stats = store.stats();
  EXPECT_EQ(stats.unwritable, 2u);
  EXPECT_EQ(stats.compiles, 2u);
  EXPECT_EQ(stats.misses, 2u);
}

TEST(StoreStats, GarbledStatsFileReadsAsZerosAndIsRewritten) {
  TempCacheDir dir;
  marlin_jit::test::write_bytes(dir / "stats", std::string("\x01\x02 not stats\nmisses lots\ncompiles -3\n"));
  {
    DiskStore store(options_for(dir.path()));
    EXPECT_EQ(store.stats().misses, 0u);
    EXPECT_EQ(store.stats().compiles, 0u);
    store.get_or_build(test_key(1), [] { return make_entry(test_key(1)); });
  }
  DiskStore again(options_for(dir.path()));
  EXPECT_EQ(again.stats().compiles, 1u);
  EXPECT_EQ(again.stats().misses, 1u);
}
