// Real damage at a key's path (truncated, bit-flipped, empty, garbage, another key's entry, another format
// version, trailing junk): never loaded; a miss that is logged, counted and removed; rebuilt into a good entry.
#include <gtest/gtest.h>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#include <functional>
#include <map>
#include <random>
#include <thread>

#include "marlin_jit/cache/disk_store.hpp"
#include "temp_cache_dir.hpp"

using namespace marlin_jit::cache;
using marlin_jit::test::make_entry;
using marlin_jit::test::options_for;
using marlin_jit::test::TempCacheDir;
using marlin_jit::test::test_key;
namespace fs = std::filesystem;
using Bytes = std::vector<char>;

namespace {

fs::path entry_file(const fs::path& root, const Digest& key) {
  return root / key.hex().substr(0, 2) / (key.hex() + ".mjk");
}

// Publishes a good entry, lets `damage` rewrite its file, then checks the whole contract on a fresh store.
void expect_rebuilt_not_loaded(const std::function<Bytes(Bytes)>& damage) {
  TempCacheDir dir;
  const Digest key = test_key(1);
  const CacheEntry good = make_entry(key, 4096);
  {
    DiskStore writer(options_for(dir.path()));
    ASSERT_TRUE(writer.publish(good));
  }
  const fs::path path = entry_file(dir.path(), key);
  marlin_jit::test::write_bytes(path, damage(marlin_jit::test::read_bytes(path)));

  DiskStore store(options_for(dir.path()));
  marlin_jit::test::LogCapture log;
  EXPECT_FALSE(store.lookup(key)) << "a damaged entry was loaded";
  EXPECT_FALSE(fs::exists(path)) << "the damaged file was left in place";
  EXPECT_EQ(log.count_containing("damaged"), 1u);
  EXPECT_EQ(store.stats().damaged, 1u);

  // Damage again, and go through get_or_build as the runtime does.
  marlin_jit::test::write_bytes(path, damage(encode_entry(good)));
  int builds = 0;
  auto [entry, origin] = store.get_or_build(key, [&] {
    ++builds;
    return good;
  });
  EXPECT_EQ(origin, Origin::compiled);
  EXPECT_EQ(builds, 1);
  EXPECT_EQ(entry, good);
  EXPECT_EQ(decode_entry(marlin_jit::test::read_bytes(path), key), good) << "the rebuilt entry is not good";
  DiskStore later(options_for(dir.path()));
  EXPECT_EQ(later.get_or_build(key, [&] { ++builds; return good; }).second, Origin::disk);
  EXPECT_EQ(builds, 1);
}

void reseal(Bytes& bytes) {
  const std::uint64_t sum = XXH3_64bits(bytes.data(), bytes.size() - 8);
  for (std::size_t i = 0; i < 8; ++i) bytes[bytes.size() - 8 + i] = static_cast<char>((sum >> (8 * i)) & 0xFF);
}

}  // namespace

TEST(Corruption, TruncatedEntryIsRebuiltNotLoaded) {
  expect_rebuilt_not_loaded([](Bytes bytes) {
    bytes.resize(bytes.size() / 2);
    return bytes;
  });
}

TEST(Corruption, EntryMissingOnlyItsLastByteIsRebuiltNotLoaded) {
  expect_rebuilt_not_loaded([](Bytes bytes) {
    bytes.pop_back();
    return bytes;
  });
}

TEST(Corruption, EntryWithAFlippedPayloadBitIsRebuiltNotLoaded) {
  expect_rebuilt_not_loaded([](Bytes bytes) {
    bytes[bytes.size() - 100] ^= 0x04;
    return bytes;
  });
}

TEST(Corruption, EntryWithFlippedHeaderBytesIsRebuiltNotLoaded) {
  expect_rebuilt_not_loaded([](Bytes bytes) {
    bytes[41] ^= 0x01;                   // payload length
    bytes[9] = static_cast<char>(~bytes[9]);  // key
    return bytes;
  });
}

TEST(Corruption, EmptyEntryFileIsRebuiltNotLoaded) {
  expect_rebuilt_not_loaded([](Bytes) { return Bytes{}; });
}

TEST(Corruption, GarbageFileIsRebuiltNotLoaded) {
  expect_rebuilt_not_loaded([](Bytes bytes) {
    std::mt19937 random(42);
    for (char& byte : bytes) byte = static_cast<char>(random());
    return bytes;
  });
}

TEST(Corruption, EntryOfAnotherKeyAtThisKeysPathIsRebuiltNotLoaded) {
  expect_rebuilt_not_loaded([](Bytes) { return encode_entry(make_entry(test_key(2), 4096)); });
}

TEST(Corruption, EntryOfAnotherFormatVersionIsRebuiltNotLoaded) {
  expect_rebuilt_not_loaded([](Bytes bytes) {
    bytes[4] = static_cast<char>(kEntryFormatVersion + 1);
    reseal(bytes);  // a well-formed entry of a future format
    return bytes;
  });
}

TEST(Corruption, EntryWithTrailingJunkIsRebuiltNotLoaded) {
  expect_rebuilt_not_loaded([](Bytes bytes) {
    bytes.insert(bytes.end(), {'j', 'u', 'n', 'k'});
    return bytes;
  });
}

TEST(Corruption, EveryTruncationOfARealEntryFileIsAMissNeverALoad) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path()));
  const CacheEntry good = make_entry(test_key(1), 16);
  const Bytes bytes = encode_entry(good);
  const fs::path path = entry_file(dir.path(), good.key);
  marlin_jit::test::LogCapture quiet;
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    marlin_jit::test::write_bytes(path, std::string_view(bytes.data(), length));
    EXPECT_FALSE(store.lookup(good.key)) << length;
    EXPECT_FALSE(fs::exists(path)) << length;
  }
  EXPECT_EQ(store.stats().damaged, bytes.size());
}

TEST(Corruption, DamagedEntryRacedByEightProcessesIsRebuiltOnce) {
  TempCacheDir dir;
  const fs::path root = dir / "cache", log = dir / "builds.log";
  const Digest key = test_key(3);
  marlin_jit::test::write_bytes(entry_file(root, key), "garbage where an entry should be");
  marlin_jit::test::StartGate gate;
  std::vector<pid_t> children;
  for (int i = 0; i < 8; ++i) {
    children.push_back(marlin_jit::test::fork_child([&] {
      gate.wait();
      marlin_jit::test::LogCapture quiet;
      DiskStore store(options_for(root));
      auto [entry, origin] = store.get_or_build(key, [&] {
        marlin_jit::test::append_line(log, "built");
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        return make_entry(key, 2048);
      });
      return entry == make_entry(key, 2048) ? 0 : 1;
    }));
  }
  gate.release();
  for (pid_t child : children) EXPECT_EQ(marlin_jit::test::wait_child(child), 0);
  EXPECT_EQ(marlin_jit::test::count_lines(log), 1u);
  DiskStore store(options_for(root));
  EXPECT_EQ(store.lookup(key), make_entry(key, 2048));
}
