// The folder layout, as other tools see it: <root>/<2 hex>/<32 hex>.mjk entries, locks/<key>.lock, stats. Files
// that do not fit the layout (notes, foreign names, uppercase hex, misplaced shards) are neither listed nor touched.
#include <gtest/gtest.h>

#include "marlin_jit/cache/disk_store.hpp"
#include "temp_cache_dir.hpp"

using namespace marlin_jit::cache;
using marlin_jit::test::make_entry;
using marlin_jit::test::options_for;
using marlin_jit::test::TempCacheDir;
using marlin_jit::test::test_key;
namespace fs = std::filesystem;

TEST(StoreLayout, EntriesLockFilesAndStatsLiveWhereDocumented) {
  TempCacheDir dir;
  {
    DiskStore store(options_for(dir.path()));
    store.get_or_build(test_key(1), [] { return make_entry(test_key(1)); });
  }
  const std::string hex = test_key(1).hex();
  EXPECT_TRUE(fs::is_regular_file(dir / hex.substr(0, 2) / (hex + ".mjk")));
  EXPECT_TRUE(fs::is_regular_file(dir / "locks" / (hex + ".lock")));
  EXPECT_TRUE(fs::is_regular_file(dir / "stats"));
}

TEST(StoreLayout, FilesOutsideTheLayoutAreNeitherListedNorRemoved) {
  TempCacheDir dir;
  DiskStore store(options_for(dir.path()));
  ASSERT_TRUE(store.publish(make_entry(test_key(1))));
  const std::string hex = test_key(2).hex();
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const auto valid = encode_entry(make_entry(test_key(2)));
  const std::vector<fs::path> strangers = {
      dir / "README.txt",
      dir / hex.substr(0, 2) / "notes.mjk",
      dir / upper.substr(0, 2) / (upper + ".mjk"),
      dir / "zz" / (hex + ".mjk"),
      dir / (hex.substr(0, 2) == "00" ? "01" : "00") / (hex + ".mjk"),  // right name, wrong shard
  };
  for (const auto& path : strangers) marlin_jit::test::write_bytes(path, valid);

  const auto listed = store.list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].key, test_key(1));
  EXPECT_TRUE(store.verify().empty());
  store.prune(0);
  store.clear();
  for (const auto& path : strangers) EXPECT_TRUE(fs::exists(path)) << path;
}
