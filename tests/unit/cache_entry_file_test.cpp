// Entry files: atomic publication leaves only whole files (never a temp), and a damaged file is removed only
// while it still holds the bytes that were read.
#include "marlin_jit/cache/entry_file.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "temp_cache_dir.hpp"

using namespace marlin_jit::cache;
using marlin_jit::test::TempCacheDir;
namespace fs = std::filesystem;

namespace {

std::span<const char> as_span(const std::string& text) { return {text.data(), text.size()}; }

std::vector<std::string> names_in(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& file : fs::directory_iterator(folder)) names.push_back(file.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST(EntryFile, AtomicWriteCreatesTheFolderAndLeavesOnlyTheFinalFile) {
  TempCacheDir dir;
  const fs::path path = dir / "ab" / "entry.mjk";
  ASSERT_FALSE(write_file_atomically(path, as_span("hello"), true));
  EXPECT_EQ(names_in(dir / "ab"), std::vector<std::string>{"entry.mjk"});
  const auto read = read_whole_file(path);
  ASSERT_FALSE(read.error);
  EXPECT_EQ(std::string(read.bytes.begin(), read.bytes.end()), "hello");
}

TEST(EntryFile, AtomicWriteReplacesAnExistingFileWithANewOne) {
  TempCacheDir dir;
  const fs::path path = dir / "entry.mjk";
  ASSERT_FALSE(write_file_atomically(path, as_span("old contents"), false));
  const auto old_read = read_whole_file(path);
  ASSERT_FALSE(write_file_atomically(path, as_span("new"), false));
  const auto new_read = read_whole_file(path);
  EXPECT_EQ(std::string(new_read.bytes.begin(), new_read.bytes.end()), "new");
  EXPECT_NE(new_read.identity.inode, old_read.identity.inode);  // never written in place
}

TEST(EntryFile, AtomicWriteWhereNoFolderCanExistFailsAndLeavesNothing) {
  TempCacheDir dir;
  marlin_jit::test::write_bytes(dir / "file", "a regular file");
  const auto error = write_file_atomically(dir / "file" / "sub" / "entry.mjk", as_span("x"), true);
  EXPECT_TRUE(error);
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"file"});
}

TEST(EntryFile, ReadOfAMissingFileReportsNoSuchFile) {
  TempCacheDir dir;
  const auto read = read_whole_file(dir / "absent.mjk");
  EXPECT_EQ(read.error, std::errc::no_such_file_or_directory);
  EXPECT_TRUE(read.bytes.empty());
}

TEST(EntryFile, ReadOfAFolderIsAnError) {
  TempCacheDir dir;
  EXPECT_TRUE(read_whole_file(dir.path()).error);
}

TEST(EntryFile, RemoveIfUnchangedRemovesTheBytesThatWereRead) {
  TempCacheDir dir;
  const fs::path path = dir / "entry.mjk";
  marlin_jit::test::write_bytes(path, "damaged bytes");
  const auto read = read_whole_file(path);
  EXPECT_TRUE(remove_if_unchanged(path, read.identity));
  EXPECT_TRUE(names_in(dir.path()).empty());  // neither the file nor the renamed-aside copy remains
}

TEST(EntryFile, RemoveIfUnchangedKeepsAFileReplacedSinceItWasRead) {
  TempCacheDir dir;
  const fs::path path = dir / "entry.mjk";
  marlin_jit::test::write_bytes(path, "damaged bytes");
  const auto damaged = read_whole_file(path);
  ASSERT_FALSE(write_file_atomically(path, as_span("a fresh entry from another process"), false));
  EXPECT_FALSE(remove_if_unchanged(path, damaged.identity));
  const auto now = read_whole_file(path);
  EXPECT_EQ(std::string(now.bytes.begin(), now.bytes.end()), "a fresh entry from another process");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"entry.mjk"});
}

TEST(EntryFile, RemoveIfUnchangedKeepsAFileRewrittenInPlaceWithOtherBytes) {
  TempCacheDir dir;
  const fs::path path = dir / "entry.mjk";
  marlin_jit::test::write_bytes(path, "damaged bytes");
  const auto damaged = read_whole_file(path);
  marlin_jit::test::write_bytes(path, "DAMAGED BYTES");  // same inode, same size, other content
  EXPECT_FALSE(remove_if_unchanged(path, damaged.identity));
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"entry.mjk"});
}

TEST(EntryFile, RemoveIfUnchangedOfAMissingFileIsANoOp) {
  TempCacheDir dir;
  EXPECT_FALSE(remove_if_unchanged(dir / "absent.mjk", FileIdentity{}));
  EXPECT_TRUE(names_in(dir.path()).empty());
}

TEST(EntryFile, TempFileNamesEndInTmp) {
  EXPECT_TRUE(is_temp_file_name("0123.mjk.4242-0-17.tmp"));
  EXPECT_FALSE(is_temp_file_name("0123.mjk"));
  EXPECT_FALSE(is_temp_file_name(".tmp"));
}

TEST(EntryFile, ConcurrentReadersSeeOnlyWholeFilesWhileWritersReplaceThem) {
  TempCacheDir dir;
  const fs::path path = dir / "entry.mjk";
  std::vector<std::string> versions;
  for (char fill : {'a', 'b', 'c', 'd'}) versions.emplace_back(256 * 1024, fill);
  ASSERT_FALSE(write_file_atomically(path, as_span(versions[0]), false));

  std::atomic<bool> stop{false};
  std::atomic<int> torn{0}, reads{0};
  std::vector<std::thread> threads;
  for (std::size_t w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      for (std::size_t i = 0; !stop; ++i) write_file_atomically(path, as_span(versions[(w + 2 * i) % 4]), false);
    });
  }
  threads.emplace_back([&] {
    while (!stop) {
      const auto read = read_whole_file(path);
      const std::string text(read.bytes.begin(), read.bytes.end());
      if (read.error || std::find(versions.begin(), versions.end(), text) == versions.end()) ++torn;
      ++reads;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  stop = true;
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(torn, 0);
  EXPECT_GT(reads, 10);
  std::size_t temps = 0;
  for (const auto& name : names_in(dir.path())) temps += is_temp_file_name(name);
  EXPECT_EQ(temps, 0u);
}
