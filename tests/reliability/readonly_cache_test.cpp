// Caches that cannot be written: a read-only folder, a folder that cannot even be created, a full disk, and a
// prebuilt cache used as a read-only layer. Lookups are still served; builds go to memory with ONE warning.
#include <sys/resource.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>

#include "marlin_jit/cache/disk_store.hpp"
#include "temp_cache_dir.hpp"

using namespace marlin_jit::cache;
using marlin_jit::test::make_entry;
using marlin_jit::test::options_for;
using marlin_jit::test::TempCacheDir;
using marlin_jit::test::test_key;
namespace fs = std::filesystem;

namespace {

// Every file under a folder with its size and mtime: a layer must look exactly the same afterwards.
std::map<fs::path, std::pair<std::uintmax_t, fs::file_time_type>> snapshot(const fs::path& root) {
  std::map<fs::path, std::pair<std::uintmax_t, fs::file_time_type>> files;
  for (const auto& file : fs::recursive_directory_iterator(root)) {
    if (file.is_regular_file()) files[file.path()] = {file.file_size(), file.last_write_time()};
  }
  return files;
}

void make_tree_read_only(const fs::path& root) {
  for (const auto& file : fs::recursive_directory_iterator(root)) {
    if (file.is_directory()) fs::permissions(file.path(), fs::perms(0555));
  }
  fs::permissions(root, fs::perms(0555));
}

// Builds into a store several times over; returns how many builds ran.
int build_three_times(DiskStore& store) {
  int builds = 0;
  for (std::uint64_t i = 0; i < 3; ++i) {
    auto [entry, origin] = store.get_or_build(test_key(100 + i % 2), [&] {
      ++builds;
      return make_entry(test_key(100 + i % 2));
    });
    EXPECT_EQ(origin, Origin::compiled);
    EXPECT_EQ(entry, make_entry(test_key(100 + i % 2)));
  }
  return builds;
}

}  // namespace

TEST(ReadOnlyCache, ChmodReadOnlyFolderServesLookupsAndBuildsIntoMemoryWithOneWarning) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "running as root: chmod 0555 does not stop root from writing (the unwritable path is covered "
                    "by RootThatCannotBeCreatedBuildsIntoMemoryWithOneWarning)";
  }
  TempCacheDir dir;
  const fs::path root = dir / "cache";
  {
    DiskStore writer(options_for(root));
    ASSERT_TRUE(writer.publish(make_entry(test_key(1))));
  }
  make_tree_read_only(root);
  ASSERT_NE(::access(root.c_str(), W_OK), 0);

  marlin_jit::test::LogCapture log;
  DiskStore store(options_for(root));
  EXPECT_FALSE(store.writable());
  EXPECT_EQ(store.lookup(test_key(1)), make_entry(test_key(1)));
  EXPECT_EQ(store.get_or_build(test_key(1), [] { return make_entry(Digest{}); }).second, Origin::disk);
  EXPECT_EQ(build_three_times(store), 3);
  EXPECT_EQ(log.count_containing("cannot be written"), 1u);
  EXPECT_EQ(log.warnings().size(), 1u);
}

TEST(ReadOnlyCache, RootThatCannotBeCreatedBuildsIntoMemoryWithOneWarning) {
  TempCacheDir dir;
  marlin_jit::test::write_bytes(dir / "file", "a regular file where a folder should be");
  marlin_jit::test::LogCapture log;
  DiskStore store(options_for(dir / "file" / "cache"));  // mkdir fails even for root
  EXPECT_FALSE(store.writable());
  EXPECT_FALSE(store.lookup(test_key(1)));
  EXPECT_FALSE(store.publish(make_entry(test_key(1))));
  EXPECT_EQ(build_three_times(store), 3);
  EXPECT_EQ(log.count_containing("cannot be written"), 1u);
  EXPECT_EQ(log.warnings().size(), 1u);
  EXPECT_EQ(store.stats().compiles, 3u);
}

TEST(ReadOnlyCache, FullDiskOnWriteDegradesToMemoryWithOneWarning) {
  // A file size limit makes every write past 4 KiB fail (EFBIG), as a full disk (ENOSPC) would.
  TempCacheDir dir;
  const fs::path root = dir / "cache";
  const pid_t child = marlin_jit::test::fork_child([&] {
    const rlimit limit{4096, 4096};
    ::signal(SIGXFSZ, SIG_IGN);
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) return 2;
    marlin_jit::test::LogCapture log;
    DiskStore store(options_for(root));
    if (!store.writable()) return 3;
    int compiled = 0;
    for (std::uint64_t i = 0; i < 3; ++i) {
      auto [entry, origin] = store.get_or_build(test_key(i), [i] { return make_entry(test_key(i), 64 * 1024); });
      compiled += origin == Origin::compiled && entry == make_entry(test_key(i), 64 * 1024);
    }
    if (compiled != 3) return 4;
    if (log.warnings().size() != 1 || log.count_containing("cannot be written") != 1) return 5;
    if (store.stats().unwritable != 3) return 6;
    if (!store.list().empty()) return 7;
    return 0;
  });
  EXPECT_EQ(marlin_jit::test::wait_child(child), 0)
      << "2: setrlimit, 3: not writable, 4: not compiled, 5: warnings, 6: counters, 7: partial entries";
  for (const auto& file : fs::recursive_directory_iterator(root)) {
    EXPECT_NE(file.path().extension(), ".tmp") << "a failed write left " << file.path();
    EXPECT_NE(file.path().extension(), ".mjk") << "a failed write left " << file.path();
  }
}

TEST(ReadOnlyCache, PrebuiltCacheServesAsAReadOnlyLayerUnderAPrivateRoot) {
  TempCacheDir prebuilt, home;
  {
    DiskStore precompile(options_for(prebuilt.path()));
    for (std::uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(precompile.publish(make_entry(test_key(i))));
  }
  // Old last-used times: a hit must not refresh them in a layer.
  for (const auto& file : fs::recursive_directory_iterator(prebuilt.path())) {
    if (file.path().extension() == ".mjk") {
      fs::last_write_time(file.path(), fs::file_time_type::clock::now() - std::chrono::hours(2));
    }
  }
  if (::geteuid() != 0) make_tree_read_only(prebuilt.path());
  const auto before = snapshot(prebuilt.path());

  auto options = options_for(home / "cache");
  options.read_only_layers = {prebuilt.path()};
  marlin_jit::test::LogCapture log;
  DiskStore store(options);
  int builds = 0;
  for (std::uint64_t i = 1; i <= 4; ++i) {
    store.get_or_build(test_key(i), [&] {
      ++builds;
      return make_entry(test_key(i));
    });
  }
  EXPECT_EQ(builds, 1);  // only key 4, which the layer lacks
  EXPECT_EQ(store.list().size(), 1u);
  store.prune(0);
  store.verify();
  store.clear();
  EXPECT_EQ(snapshot(prebuilt.path()), before);
  EXPECT_TRUE(log.warnings().empty());
}
