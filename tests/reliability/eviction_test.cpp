// Eviction with several processes sharing one capped folder: the total stays under the cap, entries stay whole,
// and the entries evicted are the least recently used, where a hit in any process counts as use.
#include <gtest/gtest.h>

#include "marlin_jit/cache/disk_store.hpp"
#include "temp_cache_dir.hpp"

using namespace marlin_jit::cache;
using marlin_jit::test::make_entry;
using marlin_jit::test::options_for;
using marlin_jit::test::TempCacheDir;
using marlin_jit::test::test_key;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kPayload = 5000;
const std::uint64_t kEntryBytes = encode_entry(make_entry(test_key(0), kPayload)).size();

fs::path entry_file(const fs::path& root, const Digest& key) {
  return root / key.hex().substr(0, 2) / (key.hex() + ".mjk");
}

}  // namespace

TEST(EvictionAcrossProcesses, FourPublishingProcessesKeepTheTotalUnderTheCap) {
  TempCacheDir dir;
  const fs::path root = dir / "cache";
  const std::uint64_t cap = 8 * kEntryBytes;
  marlin_jit::test::StartGate gate;
  std::vector<pid_t> children;
  for (std::uint64_t p = 0; p < 4; ++p) {
    children.push_back(marlin_jit::test::fork_child([&, p] {
      gate.wait();
      DiskStore store(options_for(root, cap));
      for (std::uint64_t i = 0; i < 25; ++i) {
        const Digest key = test_key(p * 100 + i);
        if (store.get_or_build(key, [&] { return make_entry(key, kPayload); }).first != make_entry(key, kPayload)) {
          return 1;
        }
      }
      return 0;
    }));
  }
  gate.release();
  for (pid_t child : children) EXPECT_EQ(marlin_jit::test::wait_child(child), 0);

  DiskStore store(options_for(root, cap));
  EXPECT_LE(store.total_bytes(), cap);
  EXPECT_GE(store.list().size(), 1u);
  EXPECT_TRUE(store.verify().empty());
  EXPECT_GE(store.stats().evictions, 100u - 8u);
  EXPECT_EQ(store.stats().compiles, 100u);
}

TEST(EvictionAcrossProcesses, LeastRecentlyUsedEntriesGoFirstAndAHitInAnotherProcessCounts) {
  TempCacheDir dir;
  const fs::path root = dir / "cache";
  {
    DiskStore unlimited(options_for(root, 0));
    for (std::uint64_t i = 1; i <= 6; ++i) {
      ASSERT_TRUE(unlimited.publish(make_entry(test_key(i), kPayload)));
      fs::last_write_time(entry_file(root, test_key(i)),
                          fs::file_time_type::clock::now() - std::chrono::minutes(20 - i));  // key 1 oldest
    }
  }
  const pid_t reader = marlin_jit::test::fork_child([&] {
    DiskStore store(options_for(root));
    return store.lookup(test_key(1)) ? 0 : 1;  // key 1 becomes the most recently used
  });
  ASSERT_EQ(marlin_jit::test::wait_child(reader), 0);

  // Cap of 5 entries: publishing a 7th prunes to 90% of the cap, so 4 entries remain: the new one, key 1 (just
  // used), and the two next most recently used.
  DiskStore capped(options_for(root, 5 * kEntryBytes));
  ASSERT_TRUE(capped.publish(make_entry(test_key(7), kPayload)));
  std::vector<std::uint64_t> left;
  for (const auto& info : capped.list()) left.push_back(info.key.low);
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::uint64_t>{1, 5, 6, 7}));
  EXPECT_LE(capped.total_bytes(), 5 * kEntryBytes);
}
