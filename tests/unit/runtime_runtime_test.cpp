// Tests for runtime/src/runtime.cpp with real NVRTC and a real cache folder (no GPU): where a kernel comes from
// (compiled, then memory, then disk for another Runtime), what survives the disk, degrading on an unwritable cache,
// edits picked up from an override folder, and one compile for concurrent callers.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "marlin_jit/error.hpp"
#include "marlin_jit/log.hpp"
#include "marlin_jit/runtime.hpp"
#include "temp_cache_dir.hpp"
#include "template_tree.hpp"

namespace marlin_jit {
namespace {

namespace fs = std::filesystem;


class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_template_tree(templates());
  }
  fs::path templates() const { return dir_ / "templates"; }
  RuntimeOptions options(const fs::path& cache = {}) const {
    RuntimeOptions o;
    o.cache_dir = cache.empty() ? dir_ / "cache" : cache;
    o.template_dir = templates();
    return o;
  }
  static KernelRequest request(int n = 1) { return {"marlin_jit/entry/k.cuh", "t::kern<" + std::to_string(n) + ">", "sm_90"}; }
  test::TempCacheDir dir_;
};

TEST_F(RuntimeTest, CompiledThenMemoryThenDiskForAnotherRuntime) {
  CompiledKernel first;
  {
    Runtime runtime(options());
    first = runtime.compile(request());
    EXPECT_EQ(first.origin, KernelOrigin::compiled);
    EXPECT_EQ(runtime.compile(request()).origin, KernelOrigin::memory);
    CacheStatistics stats = runtime.cache_statistics();
    EXPECT_EQ(stats.compiles, 1u);
    EXPECT_EQ(stats.memory_hits, 1u);
    EXPECT_EQ(stats.entries, 1u);
    EXPECT_TRUE(stats.writable);
    EXPECT_EQ(stats.directory, dir_ / "cache");
  }
  Runtime second(options());
  CompiledKernel from_disk = second.compile(request());
  EXPECT_EQ(from_disk.origin, KernelOrigin::disk);
  EXPECT_EQ(second.compile(request()).origin, KernelOrigin::memory);
  EXPECT_EQ(second.cache_statistics().compiles, 0u);
  EXPECT_EQ(second.cache_statistics().disk_hits, 1u);

  EXPECT_EQ(from_disk.key_hex, first.key_hex);
  EXPECT_EQ(from_disk.cubin, first.cubin);
  EXPECT_EQ(from_disk.lowered_name, first.lowered_name);
  EXPECT_EQ(from_disk.stats.registers, first.stats.registers);
  EXPECT_EQ(from_disk.stats.compile_seconds, first.stats.compile_seconds);
  EXPECT_EQ(from_disk.headers, first.headers);
  EXPECT_EQ(first.headers, (std::vector<std::string>{"marlin_jit/a/mid.cuh", "marlin_jit/b/deep.cuh",
                                                      "marlin_jit/entry/k.cuh"}));
  EXPECT_EQ(first.key_hex, second.key_hex(request()));
}

TEST_F(RuntimeTest, LookupNeverCompiles) {
  Runtime runtime(options());
  EXPECT_FALSE(runtime.lookup(request()));
  EXPECT_EQ(runtime.cache_statistics().compiles, 0u);
  runtime.compile(request());
  ASSERT_TRUE(runtime.lookup(request()));
  EXPECT_EQ(runtime.lookup(request())->origin, KernelOrigin::memory);
  Runtime other(options());
  ASSERT_TRUE(other.lookup(request()));
  EXPECT_EQ(other.lookup(request())->origin, KernelOrigin::memory);
}

TEST_F(RuntimeTest, EditedHeaderIsPickedUpByTheSameRuntime) {
  Runtime runtime(options());
  CompiledKernel before = runtime.compile(request());
  test::write_tree_deep(templates(), 8);
  CompiledKernel after = runtime.compile(request());
  EXPECT_EQ(after.origin, KernelOrigin::compiled);
  EXPECT_NE(after.key_hex, before.key_hex);
  test::write_tree_deep(templates(), 7);
  EXPECT_EQ(runtime.compile(request()).origin, KernelOrigin::memory);
}

TEST_F(RuntimeTest, UnwritableCacheFolderDegradesToMemoryWithOneWarning) {
  test::write_bytes(dir_ / "not_a_folder", std::string_view("file"));
  fs::path cache = dir_ / "not_a_folder/cache";  // cannot be created, even by root
  test::LogCapture log;
  Runtime runtime(options(cache));
  EXPECT_EQ(runtime.compile(request(1)).origin, KernelOrigin::compiled);
  EXPECT_EQ(runtime.compile(request(2)).origin, KernelOrigin::compiled);
  EXPECT_EQ(runtime.compile(request(1)).origin, KernelOrigin::memory);
  EXPECT_FALSE(runtime.cache_statistics().writable);
  std::string all;
  for (const auto& w : log.warnings()) all += w + "\n";
  EXPECT_EQ(log.warnings().size(), 1u) << all;
  Runtime other(options(cache));
  EXPECT_EQ(other.compile(request(1)).origin, KernelOrigin::compiled);
}

TEST_F(RuntimeTest, CompileErrorsCarryTheKey) {
  test::write_tree_deep(templates(), 7);
  test::write_bytes(templates() / "marlin_jit/b/deep.cuh", std::string_view("#pragma once\n#error broken here\n"));
  Runtime runtime(options());
  try {
    runtime.compile(request());
    FAIL();
  } catch (const CompileError& error) {
    EXPECT_EQ(error.info().key_hex, runtime.key_hex(request()));
    EXPECT_NE(error.log().find("marlin_jit/b/deep.cuh(2)"), std::string::npos) << error.log();
  }
  EXPECT_EQ(runtime.cache_statistics().entries, 0u);
}

TEST_F(RuntimeTest, ConcurrentCallersCompileOnce) {
  Runtime runtime(options());
  std::vector<std::thread> threads;
  std::vector<CompiledKernel> results(4);
  for (std::size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = runtime.compile(request()); });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(runtime.cache_statistics().compiles, 1u);
  for (const auto& result : results) EXPECT_EQ(result.cubin, results[0].cubin);
}

TEST_F(RuntimeTest, DebugLogShowsWhatTheKeyCovers) {
  std::vector<std::string> messages;
  std::mutex mutex;
  set_log_callback([&](LogLevel, std::string_view message) {
    std::lock_guard lock(mutex);
    messages.emplace_back(message);
  });
  LogLevel saved = log_level();
  set_log_level(LogLevel::debug);
  Runtime runtime(options());
  runtime.key_hex(request());
  set_log_level(saved);
  set_log_callback(nullptr);
  bool found = std::any_of(messages.begin(), messages.end(), [](const std::string& m) {
    return m.find("marlin_jit/b/deep.cuh") != std::string::npos && m.find("nvrtc_builtins") != std::string::npos;
  });
  EXPECT_TRUE(found) << "no debug line with the key's fields (is SPDLOG_ACTIVE_LEVEL set for the library?)";
}

}  // namespace
}  // namespace marlin_jit
