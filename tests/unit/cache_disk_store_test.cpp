// DiskStore: publish and lookup, get_or_build, read-only layers, damage as a miss, list/verify/clear, LRU
// touch, and concurrent use of every member from many threads.
#include "marlin_jit/cache/disk_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "marlin_jit/error.hpp"
#include "temp_cache_dir.hpp"

using namespace marlin_jit::cache;
using marlin_jit::test::make_entry;
using marlin_jit::test::options_for;
using marlin_jit::test::TempCacheDir;
using marlin_jit::test::test_key;
namespace fs = std::filesystem;

namespace {

fs::path entry_file(const fs::path& root, const Digest& key) {
  return root / key.hex().substr(0, 2) / (key.hex() + ".mjk");
}

}  // namespace

TEST(DiskStore, LookupOfAMissingKeyIsAMiss) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path()));
  EXPECT_TRUE(store.writable());
  EXPECT_FALSE(store.lookup(test_key(1)));
}

TEST(DiskStore, PublishedEntryIsFoundByThisAndEveryOtherStoreOnTheRoot) {
  TempCacheDir dir;
  const CacheEntry entry = make_entry(test_key(1));
  DiskStore store(options_for(dir.path()));
  ASSERT_TRUE(store.publish(entry));
  EXPECT_EQ(store.lookup(entry.key), entry);
  DiskStore other(options_for(dir.path()));
  EXPECT_EQ(other.lookup(entry.key), entry);
}

TEST(DiskStore, EntryLivesAtItsShardFolderUnderItsKeyHex) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path()));
  const CacheEntry entry = make_entry(test_key(7));
  ASSERT_TRUE(store.publish(entry));
  const fs::path path = entry_file(dir.path(), entry.key);
  ASSERT_TRUE(fs::is_regular_file(path));
  EXPECT_EQ(decode_entry(marlin_jit::test::read_bytes(path), entry.key), entry);
}

TEST(DiskStore, CreatesAMissingRootFolder) {
  TempCacheDir dir;
  DiskStore store(options_for(dir / "a" / "b" / "cache"));
  EXPECT_TRUE(store.writable());
  EXPECT_TRUE(fs::is_directory(dir / "a" / "b" / "cache"));
  EXPECT_EQ(store.root(), dir / "a" / "b" / "cache");
}

TEST(DiskStore, GetOrBuildBuildsOnceThenServesFromDisk) {
  TempCacheDir dir;
  int builds = 0;
  const Digest key = test_key(3);
  auto build = [&] {
    ++builds;
    return make_entry(key);
  };
  {
    DiskStore store(options_for(dir.path()));
    auto [first, first_origin] = store.get_or_build(key, build);
    EXPECT_EQ(first_origin, Origin::compiled);
    auto [second, second_origin] = store.get_or_build(key, build);
    EXPECT_EQ(second_origin, Origin::disk);
    EXPECT_EQ(second, first);
  }
  DiskStore restarted(options_for(dir.path()));
  EXPECT_EQ(restarted.get_or_build(key, build).second, Origin::disk);
  EXPECT_EQ(builds, 1);
}

TEST(DiskStore, GetOrBuildFilesTheBuiltEntryUnderTheRequestedKey) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path()));
  auto [entry, origin] = store.get_or_build(test_key(5), [] { return make_entry(Digest{}); });
  EXPECT_EQ(entry.key, test_key(5));
  EXPECT_TRUE(store.lookup(test_key(5)));
  EXPECT_FALSE(store.lookup(Digest{}));
}

TEST(DiskStore, BuildExceptionPropagatesAndNothingIsPublished) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path()));
  EXPECT_THROW(store.get_or_build(test_key(1), []() -> CacheEntry { throw std::runtime_error("nvrtc failed"); }),
               std::runtime_error);
  EXPECT_FALSE(store.lookup(test_key(1)));
  EXPECT_EQ(store.get_or_build(test_key(1), [] { return make_entry(test_key(1)); }).second, Origin::compiled);
}

TEST(DiskStore, DamagedEntryIsAMissIsLoggedAndIsRemoved) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path()));
  const CacheEntry entry = make_entry(test_key(2));
  ASSERT_TRUE(store.publish(entry));
  const fs::path path = entry_file(dir.path(), entry.key);
  auto bytes = marlin_jit::test::read_bytes(path);
  bytes[bytes.size() / 2] ^= 0x10;
  marlin_jit::test::write_bytes(path, bytes);

  marlin_jit::test::LogCapture log;
  EXPECT_FALSE(store.lookup(entry.key));
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(log.count_containing("damaged"), 1u);
  EXPECT_EQ(store.stats().damaged, 1u);
}

TEST(DiskStore, ReadOnlyLayerServesEntriesTheRootLacksAndIsNeverWritten) {
  TempCacheDir prebuilt, private_root;
  const CacheEntry entry = make_entry(test_key(4));
  {
    DiskStore builder(options_for(prebuilt.path()));
    ASSERT_TRUE(builder.publish(entry));
  }
  auto options = options_for(private_root.path());
  options.read_only_layers = {prebuilt.path()};
  DiskStore store(options);
  int builds = 0;
  auto [found, origin] = store.get_or_build(entry.key, [&] {
    ++builds;
    return entry;
  });
  EXPECT_EQ(origin, Origin::disk);
  EXPECT_EQ(found, entry);
  EXPECT_EQ(builds, 0);
  EXPECT_TRUE(store.list().empty());  // served from the layer, not copied into the root

  // A key the layer lacks is built and published into the private root only.
  store.get_or_build(test_key(40), [] { return make_entry(test_key(40)); });
  EXPECT_TRUE(fs::exists(entry_file(private_root.path(), test_key(40))));
  EXPECT_FALSE(fs::exists(entry_file(prebuilt.path(), test_key(40))));
}

TEST(DiskStore, DamagedRootEntryFallsBackToALayerAndDamagedLayerEntryIsLeftInPlace) {
  TempCacheDir layer, root;
  const CacheEntry good = make_entry(test_key(8)), bad = make_entry(test_key(9));
  {
    DiskStore builder(options_for(layer.path()));
    ASSERT_TRUE(builder.publish(good));
    ASSERT_TRUE(builder.publish(bad));
  }
  marlin_jit::test::write_bytes(entry_file(root.path(), good.key), "garbage in the private root");
  marlin_jit::test::write_bytes(entry_file(layer.path(), bad.key), "garbage in the shared layer");
  auto options = options_for(root.path());
  options.read_only_layers = {layer.path()};
  DiskStore store(options);
  marlin_jit::test::LogCapture log;
  EXPECT_EQ(store.lookup(good.key), good);
  EXPECT_FALSE(fs::exists(entry_file(root.path(), good.key)));
  EXPECT_FALSE(store.lookup(bad.key));
  EXPECT_FALSE(store.lookup(bad.key));
  EXPECT_TRUE(fs::exists(entry_file(layer.path(), bad.key)));
  EXPECT_EQ(log.count_containing("read-only layer"), 1u);  // once per damaged layer file
}

TEST(DiskStore, ListReportsEveryEntryWithItsSizeAndLoweredName) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path()));
  for (std::uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(store.publish(make_entry(test_key(i), 100 * i)));
  const auto entries = store.list();
  ASSERT_EQ(entries.size(), 3u);
  std::uint64_t total = 0;
  for (const auto& info : entries) {
    const CacheEntry expected = make_entry(info.key, 100 * info.key.low);
    EXPECT_EQ(info.lowered_name, expected.lowered_name);
    EXPECT_EQ(info.bytes, encode_entry(expected).size());
    EXPECT_EQ(info.path, entry_file(dir.path(), info.key));
    EXPECT_TRUE(info.problem.empty());
    total += info.bytes;
  }
  EXPECT_EQ(store.total_bytes(), total);
}

TEST(DiskStore, VerifyReturnsAndRemovesOnlyTheBadEntries) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path()));
  for (std::uint64_t i = 1; i <= 4; ++i) ASSERT_TRUE(store.publish(make_entry(test_key(i))));
  marlin_jit::test::write_bytes(entry_file(dir.path(), test_key(2)), "");
  auto foreign = encode_entry(make_entry(test_key(99)));
  marlin_jit::test::write_bytes(entry_file(dir.path(), test_key(3)), foreign);

  marlin_jit::test::LogCapture log;
  const auto bad = store.verify();
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_EQ(bad[0].key, test_key(2) < test_key(3) ? test_key(2) : test_key(3));
  for (const auto& info : bad) {
    EXPECT_FALSE(info.problem.empty());
    EXPECT_FALSE(fs::exists(info.path));
  }
  EXPECT_EQ(store.list().size(), 2u);
  EXPECT_TRUE(store.verify().empty());
}

TEST(DiskStore, ExplicitCommandsOnAnUnreadableRootThrowCacheError) {
  TempCacheDir dir;
  marlin_jit::test::write_bytes(dir / "file", "not a folder");
  DiskStore store(options_for(dir / "file" / "cache"));
  EXPECT_FALSE(store.writable());
  EXPECT_THROW(store.verify(), marlin_jit::CacheError);
  EXPECT_THROW(store.list(), marlin_jit::CacheError);
  EXPECT_THROW(store.prune(0), marlin_jit::CacheError);
  EXPECT_THROW(store.clear(), marlin_jit::CacheError);
  EXPECT_THROW(store.total_bytes(), marlin_jit::CacheError);
  EXPECT_NO_THROW(store.lookup(test_key(1)));  // the get-or-compile path never throws for the folder
}

TEST(DiskStore, ClearRemovesEveryEntryButKeepsTheCounters) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path()));
  for (std::uint64_t i = 1; i <= 3; ++i) store.get_or_build(test_key(i), [i] { return make_entry(test_key(i)); });
  store.clear();
  EXPECT_TRUE(store.list().empty());
  EXPECT_EQ(store.total_bytes(), 0u);
  EXPECT_EQ(store.stats().compiles, 3u);
  EXPECT_FALSE(store.lookup(test_key(1)));
  for (std::uint64_t i = 1; i <= 3; ++i) {
    EXPECT_FALSE(fs::exists(dir / "locks" / (test_key(i).hex() + ".lock")));  // idle lock files go too
  }
}

TEST(DiskStore, ClearAndPruneRemoveStaleStatsTempsInTheRoot) {
  // A process killed while saving its counters leaves root/stats.<pid>-<n>-<noise>.tmp; once stale, clear and
  // prune remove it like any other dead writer's temp file (issue 10: it used to stay forever). A young one stays:
  // its writer may be about to rename it.
  TempCacheDir dir;
  DiskStore store(options_for(dir.path()));
  ASSERT_TRUE(store.publish(make_entry(test_key(1))));
  const fs::path stale = dir.path() / "stats.4242-0-17.tmp", young = dir.path() / "stats.4243-0-18.tmp";
  marlin_jit::test::write_bytes(stale, "counters");
  marlin_jit::test::write_bytes(young, "counters");
  fs::last_write_time(stale, fs::file_time_type::clock::now() - std::chrono::hours(1));
  store.clear();
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(young));
  fs::last_write_time(young, fs::file_time_type::clock::now() - std::chrono::hours(1));
  store.prune(1 << 20);
  EXPECT_FALSE(fs::exists(young));
}

TEST(DiskStore, HitRefreshesAnOldLastUsedTime) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path()));
  const CacheEntry entry = make_entry(test_key(1));
  ASSERT_TRUE(store.publish(entry));
  const fs::path path = entry_file(dir.path(), entry.key);
  const auto hour_ago = fs::file_time_type::clock::now() - std::chrono::hours(1);
  fs::last_write_time(path, hour_ago);
  ASSERT_TRUE(store.lookup(entry.key));
  EXPECT_GT(fs::last_write_time(path), hour_ago + std::chrono::minutes(59));
}

TEST(DiskStore, RecentHitDoesNotRewriteTheLastUsedTime) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path()));
  const CacheEntry entry = make_entry(test_key(1));
  ASSERT_TRUE(store.publish(entry));
  const fs::path path = entry_file(dir.path(), entry.key);
  const auto recently = fs::file_time_type::clock::now() - std::chrono::seconds(5);
  fs::last_write_time(path, recently);
  ASSERT_TRUE(store.lookup(entry.key));
  EXPECT_EQ(fs::last_write_time(path), recently);
}

TEST(DiskStore, CacheFolderEmptiedWhileInUseKeepsWorking) {
  TempCacheDir dir;
  DiskStore store(options_for(dir / "cache"));
  store.get_or_build(test_key(1), [] { return make_entry(test_key(1)); });
  fs::remove_all(dir / "cache");  // an operator's rm -rf while the service runs
  EXPECT_FALSE(store.lookup(test_key(1)));
  EXPECT_EQ(store.get_or_build(test_key(2), [] { return make_entry(test_key(2)); }).second, Origin::compiled);
  EXPECT_EQ(store.lookup(test_key(2)), make_entry(test_key(2)));
  EXPECT_TRUE(fs::exists(dir / "cache" / "locks" / (test_key(2).hex() + ".lock")));
}

TEST(DiskStore, EveryMemberIsSafeToCallFromManyThreadsAtOnce) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path(), 40 * 1024));
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (std::uint64_t i = 0; !stop; ++i) {
        const Digest key = test_key(i % 24);
        switch ((i + static_cast<std::uint64_t>(t)) % 6) {
          case 0:
            if (store.get_or_build(key, [&] { return make_entry(key, 2000); }).first != make_entry(key, 2000)) ++wrong;
            break;
          case 1:
            if (auto found = store.lookup(key); found && *found != make_entry(key, 2000)) ++wrong;
            break;
          case 2: store.publish(make_entry(key, 2000)); break;
          case 3: store.stats(); break;
          case 4: store.list(); break;
          default: store.total_bytes(); break;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  stop = true;
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(store.stats().damaged, 0u);
  EXPECT_TRUE(store.verify().empty());
  EXPECT_LE(store.total_bytes(), 40u * 1024);
}
