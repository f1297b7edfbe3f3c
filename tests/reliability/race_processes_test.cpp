// Many processes (an engine's tensor-parallel ranks) asking for the same missing kernel at once: every one gets a
// good entry and the build runs exactly once, counted through a file each build appends to.
#include <signal.h>

#include <gtest/gtest.h>

#include <map>
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

constexpr int kBuiltHere = 10, kLoadedFromDisk = 11, kWrongEntry = 1;

// In a child: one get_or_build whose build is slow enough for every process to pile up on the lock.
int race_once(const fs::path& root, const fs::path& build_log, const Digest& key) {
  DiskStore store(options_for(root));
  auto [entry, origin] = store.get_or_build(key, [&] {
    marlin_jit::test::append_line(build_log, key.hex());
    std::this_thread::sleep_for(300ms);
    return make_entry(key, 100000);
  });
  if (entry != make_entry(key, 100000)) return kWrongEntry;
  return origin == Origin::compiled ? kBuiltHere : kLoadedFromDisk;
}

}  // namespace

TEST(RaceProcesses, EightProcessesBuildAMissingKeyExactlyOnce) {
  TempCacheDir dir;
  const fs::path root = dir / "cache", log = dir / "builds.log";
  marlin_jit::test::StartGate gate;
  std::vector<pid_t> children;
  for (int i = 0; i < 8; ++i) {
    children.push_back(marlin_jit::test::fork_child([&] {
      gate.wait();
      return race_once(root, log, test_key(1));
    }));
  }
  gate.release();
  std::map<int, int> codes;
  for (pid_t child : children) ++codes[marlin_jit::test::wait_child(child)];
  EXPECT_EQ(codes[kBuiltHere], 1);
  EXPECT_EQ(codes[kLoadedFromDisk], 7);
  EXPECT_EQ(marlin_jit::test::count_lines(log), 1u);

  DiskStore store(options_for(root));
  EXPECT_EQ(store.lookup(test_key(1)), make_entry(test_key(1), 100000));
  EXPECT_EQ(store.stats().compiles, 1u);
  EXPECT_EQ(store.stats().damaged, 0u);
}

TEST(RaceProcesses, FourProcessesOfFourThreadsEachBuildOnce) {
  TempCacheDir dir;
  const fs::path root = dir / "cache", log = dir / "builds.log";
  marlin_jit::test::StartGate gate;
  std::vector<pid_t> children;
  for (int i = 0; i < 4; ++i) {
    children.push_back(marlin_jit::test::fork_child([&] {
      gate.wait();
      DiskStore store(options_for(root));
      std::atomic<int> wrong{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
          auto result = store.get_or_build(test_key(2), [&] {
            marlin_jit::test::append_line(log, "built");
            std::this_thread::sleep_for(200ms);
            return make_entry(test_key(2), 5000);
          });
          if (result.first != make_entry(test_key(2), 5000)) ++wrong;
        });
      }
      for (auto& thread : threads) thread.join();
      return wrong == 0 ? 0 : kWrongEntry;
    }));
  }
  gate.release();
  for (pid_t child : children) EXPECT_EQ(marlin_jit::test::wait_child(child), 0);
  EXPECT_EQ(marlin_jit::test::count_lines(log), 1u);
}

TEST(RaceProcesses, EightProcessesWantingTwelveKeysInDifferentOrdersBuildEachOnce) {
  TempCacheDir dir;
  const fs::path root = dir / "cache", log = dir / "builds.log";
  constexpr std::uint64_t kKeys = 12;
  marlin_jit::test::StartGate gate;
  std::vector<pid_t> children;
  for (std::uint64_t p = 0; p < 8; ++p) {
    children.push_back(marlin_jit::test::fork_child([&, p] {
      gate.wait();
      DiskStore store(options_for(root));
      for (std::uint64_t i = 0; i < kKeys; ++i) {
        const Digest key = test_key((i * (p % 2 ? 5 : 7) + p) % kKeys);  // each process walks its own order
        auto result = store.get_or_build(key, [&] {
          marlin_jit::test::append_line(log, key.hex());
          std::this_thread::sleep_for(20ms);
          return make_entry(key, 3000);
        });
        if (result.first != make_entry(key, 3000)) return kWrongEntry;
      }
      return 0;
    }));
  }
  gate.release();
  for (pid_t child : children) EXPECT_EQ(marlin_jit::test::wait_child(child), 0);

  std::map<std::string, int> builds;
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) ++builds[line];
  EXPECT_EQ(builds.size(), kKeys);
  for (const auto& [key, count] : builds) EXPECT_EQ(count, 1) << key;
}
