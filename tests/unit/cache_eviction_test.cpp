// Eviction: prune keeps the store under a cap, least-recently-used first (hits count as use), never touches the
// entry just published or a young temp file, and removes temp files left by dead writers.
#include <gtest/gtest.h>

#include <set>

#include "marlin_jit/cache/disk_store.hpp"
#include "temp_cache_dir.hpp"

using namespace marlin_jit::cache;
using marlin_jit::test::make_entry;
using marlin_jit::test::options_for;
using marlin_jit::test::TempCacheDir;
using marlin_jit::test::test_key;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kPayload = 1000;
const std::uint64_t kEntryBytes = encode_entry(make_entry(test_key(0), kPayload)).size();

fs::path entry_file(const fs::path& root, const Digest& key) {
  return root / key.hex().substr(0, 2) / (key.hex() + ".mjk");
}

// Publishes keys 1..n with last-used times n..1 minutes ago (key 1 least recently used).
void publish_aged(DiskStore& store, std::uint64_t n) {
  for (std::uint64_t i = 1; i <= n; ++i) {
    ASSERT_TRUE(store.publish(make_entry(test_key(i), kPayload)));
    fs::last_write_time(entry_file(store.root(), test_key(i)),
                        fs::file_time_type::clock::now() - std::chrono::minutes(10 + n - i));
  }
}

std::vector<std::uint64_t> surviving(const DiskStore& store) {
  std::vector<std::uint64_t> keys;
  for (const auto& info : store.list()) keys.push_back(info.key.low);
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace

TEST(Eviction, PruneRemovesLeastRecentlyUsedEntriesFirstDownToTheCap) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path(), 0));
  publish_aged(store, 6);
  const std::uint64_t removed = store.prune(3 * kEntryBytes);
  EXPECT_EQ(removed, 3 * kEntryBytes);
  EXPECT_EQ(surviving(store), (std::vector<std::uint64_t>{4, 5, 6}));
  EXPECT_EQ(store.stats().evictions, 3u);
  EXPECT_EQ(store.prune(3 * kEntryBytes), 0u);
}

TEST(Eviction, HitMakesAnEntryRecentlyUsed) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path(), 0));
  publish_aged(store, 4);
  ASSERT_TRUE(store.lookup(test_key(1)));  // the oldest becomes the newest
  store.prune(2 * kEntryBytes);
  EXPECT_EQ(surviving(store), (std::vector<std::uint64_t>{1, 4}));
}

TEST(Eviction, PublishOverTheCapEvictsBelowItAutomatically) {
  TempCacheDir dir;
  const std::uint64_t cap = 5 * kEntryBytes;
  DiskStore store(options_for(dir.path(), cap));
  for (std::uint64_t i = 1; i <= 20; ++i) {
    ASSERT_TRUE(store.publish(make_entry(test_key(i), kPayload)));
    EXPECT_LE(store.total_bytes(), cap) << "after publishing " << i;
    EXPECT_TRUE(store.lookup(test_key(i))) << "the entry just published survives";
  }
  EXPECT_GT(store.stats().evictions, 0u);
}

TEST(Eviction, EntryJustPublishedSurvivesEvenIfAloneItExceedsTheCap) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path(), kEntryBytes / 2));
  ASSERT_TRUE(store.publish(make_entry(test_key(1), kPayload)));
  ASSERT_TRUE(store.publish(make_entry(test_key(2), kPayload)));
  EXPECT_EQ(surviving(store), (std::vector<std::uint64_t>{2}));
  auto [entry, origin] = store.get_or_build(test_key(3), [] { return make_entry(test_key(3), kPayload); });
  EXPECT_EQ(surviving(store), (std::vector<std::uint64_t>{3}));
}

TEST(Eviction, ZeroCapMeansNoLimit) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path(), 0));
  for (std::uint64_t i = 1; i <= 10; ++i) ASSERT_TRUE(store.publish(make_entry(test_key(i), kPayload)));
  EXPECT_EQ(store.list().size(), 10u);
  EXPECT_EQ(store.stats().evictions, 0u);
}

TEST(Eviction, YoungTempFilesAreSparedAndStaleOnesRemoved) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path(), 0));
  publish_aged(store, 2);
  const std::string hex = test_key(1).hex();
  const fs::path young = dir / hex.substr(0, 2) / (hex + ".mjk.111-0-1.tmp");
  const fs::path stale = dir / hex.substr(0, 2) / (hex + ".mjk.222-0-2.tmp");
  marlin_jit::test::write_bytes(young, std::string(5000, 'y'));
  marlin_jit::test::write_bytes(stale, std::string(7000, 's'));
  fs::last_write_time(stale, fs::file_time_type::clock::now() - 11min);

  const std::uint64_t removed = store.prune(0);
  EXPECT_EQ(removed, 2 * kEntryBytes + 7000);
  EXPECT_TRUE(fs::exists(young));
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(store.list().empty());
}

TEST(Eviction, EvictedEntriesIdleLockFilesAreRemovedToo) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path(), 0));
  store.get_or_build(test_key(1), [] { return make_entry(test_key(1), kPayload); });
  ASSERT_TRUE(fs::exists(dir / "locks" / (test_key(1).hex() + ".lock")));
  store.prune(0);
  EXPECT_FALSE(fs::exists(dir / "locks" / (test_key(1).hex() + ".lock")));
}

TEST(Eviction, ShardFoldersEmptiedByEvictionOrClearAreRemoved) {
  // A 1 MiB cap run used to leave 42 of 65 shard folders empty (issue 10). Folders that still hold an entry stay.
  TempCacheDir dir;
  DiskStore store(options_for(dir.path(), 0));
  publish_aged(store, 6);
  auto shard_folders = [&] {
    std::set<fs::path> folders;
    for (const auto& item : fs::directory_iterator(dir.path())) {
      if (item.is_directory() && item.path().filename().string().size() == 2) folders.insert(item.path());
    }
    return folders;
  };
  ASSERT_FALSE(shard_folders().empty());
  store.prune(3 * kEntryBytes);
  std::set<fs::path> holding;
  for (const auto& info : store.list()) holding.insert(info.path.parent_path());
  EXPECT_EQ(shard_folders(), holding) << "only shard folders that still hold an entry are left";
  store.prune(0);
  EXPECT_TRUE(shard_folders().empty()) << "no empty shard folder after evicting everything";
  publish_aged(store, 3);
  store.clear();
  EXPECT_TRUE(shard_folders().empty()) << "no shard folder after clear";
  // Publishing into a removed shard folder works: the writer creates it again.
  EXPECT_TRUE(store.publish(make_entry(test_key(1), kPayload)));
  EXPECT_TRUE(store.lookup(test_key(1)));
}
