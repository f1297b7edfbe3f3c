// Processes that die at the worst moment: a builder killed while holding a key's lock does not block the next
// one (the kernel drops its flock), a writer killed mid-publish never leaves a partial entry behind, and the
// temp files such deaths leave are ignored, then cleaned once stale.
#include <signal.h>
#include <unistd.h>

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
using namespace std::chrono_literals;

namespace {

std::vector<fs::path> temp_files_under(const fs::path& root) {
  std::vector<fs::path> temps;
  for (const auto& file : fs::recursive_directory_iterator(root)) {
    if (file.path().extension() == ".tmp") temps.push_back(file.path());
  }
  return temps;
}

}  // namespace

TEST(CrashMidWrite, BuilderKilledWhileHoldingTheLockDoesNotBlockTheNextOne) {
  TempCacheDir dir;
  const fs::path root = dir / "cache";
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = marlin_jit::test::fork_child([&] {
    ::close(ready[0]);
    DiskStore store(options_for(root));
    store.get_or_build(test_key(1), [&]() -> CacheEntry {
      (void)!::write(ready[1], "x", 1);  // the lock is held now
      std::this_thread::sleep_for(60s);
      return make_entry(test_key(1));
    });
    return 0;
  });
  ::close(ready[1]);
  char byte;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);
  ::kill(child, SIGKILL);
  EXPECT_EQ(marlin_jit::test::wait_child(child), 128 + SIGKILL);

  DiskStore store(options_for(root));  // waits up to 20 s for a lock; the dead holder's must already be gone
  const auto start = std::chrono::steady_clock::now();
  auto [entry, origin] = store.get_or_build(test_key(1), [] { return make_entry(test_key(1)); });
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(origin, Origin::compiled);
  EXPECT_EQ(store.lookup(test_key(1)), make_entry(test_key(1)));
}

namespace {

// Whether some regular file exists below `root` within `timeout` (polled).
bool any_file_appears(const fs::path& root, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code error;
    for (auto it = fs::recursive_directory_iterator(root, error); !error && it != fs::recursive_directory_iterator();
         it.increment(error)) {
      if (it->is_regular_file(error)) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

}  // namespace

TEST(CrashMidWrite, WriterKilledMidPublishNeverLeavesAPartialEntry) {
  TempCacheDir dir;
  const fs::path root = dir / "cache";
  for (int round = 0; round < 4; ++round) {
    const pid_t child = marlin_jit::test::fork_child([&] {
      DiskStore store(options_for(root, 0));
      for (std::uint64_t i = 0;; ++i) store.publish(make_entry(test_key(i % 3), 2 << 20, static_cast<char>(i)));
      return 0;
    });
    // Killed only once it is writing: a file (temp or entry) shows up first, or the round tests nothing.
    ASSERT_TRUE(any_file_appears(root, std::chrono::seconds(20))) << "the writer never started writing";
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + 17 * round));
    ::kill(child, SIGKILL);
    EXPECT_EQ(marlin_jit::test::wait_child(child), 128 + SIGKILL);
  }

  marlin_jit::test::LogCapture log;
  DiskStore store(options_for(root, 0));
  for (std::uint64_t k = 0; k < 3; ++k) {
    if (auto entry = store.lookup(test_key(k))) {
      EXPECT_EQ(entry->payload.size(), 2u << 20);
    }
    auto [entry, origin] = store.get_or_build(test_key(k), [k] { return make_entry(test_key(k), 2 << 20); });
    EXPECT_EQ(entry.key, test_key(k));
  }
  EXPECT_EQ(store.stats().damaged, 0u) << "a killed writer exposed a partial entry";
  EXPECT_TRUE(log.warnings().empty());
  EXPECT_TRUE(store.verify().empty());
}

TEST(CrashMidWrite, LeftoverTempFileIsIgnoredThenCleanedOnceStale) {
  TempCacheDir dir;
  const fs::path root = dir / "cache";
  const Digest key = test_key(1);
  const std::string hex = key.hex();
  const fs::path leftover = root / hex.substr(0, 2) / (hex + ".mjk.4242-0-99.tmp");
  const auto full = encode_entry(make_entry(key));
  marlin_jit::test::write_bytes(leftover, std::string_view(full.data(), full.size() / 2));

  marlin_jit::test::LogCapture log;
  DiskStore store(options_for(root));
  EXPECT_FALSE(store.lookup(key));
  EXPECT_EQ(store.get_or_build(key, [&] { return make_entry(key); }).second, Origin::compiled);
  EXPECT_EQ(store.lookup(key), make_entry(key));
  EXPECT_EQ(store.list().size(), 1u);
  EXPECT_TRUE(store.verify().empty());
  EXPECT_TRUE(log.warnings().empty());

  store.prune(1ull << 30);  // young: a writer may still be filling it
  EXPECT_TRUE(fs::exists(leftover));
  fs::last_write_time(leftover, fs::file_time_type::clock::now() - 15min);
  store.prune(1ull << 30);  // stale: its writer is gone
  EXPECT_FALSE(fs::exists(leftover));
  EXPECT_TRUE(temp_files_under(root).empty());
  EXPECT_EQ(store.lookup(key), make_entry(key));
}
