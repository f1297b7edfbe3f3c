// Tests for runtime/src/checkpoint/mapped_file.cpp: the mapping holds the file's bytes (empty files too), survives
// moves, and a missing file or a folder is refused with ConfigError naming the path.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "checkpoint/mapped_file.hpp"
#include "marlin_jit/error.hpp"
#include "modelopt_checkpoint_writer.hpp"
#include "temp_cache_dir.hpp"

namespace marlin_jit::checkpoint {
namespace {

TEST(MappedFile, HoldsTheFileBytesAndSurvivesMoves) {
  test::TempCacheDir folder;
  const std::vector<std::uint8_t> bytes = {1, 2, 3, 250, 0, 7};
  test::write_file(folder.path() / "f", bytes);
  MappedFile mapped(folder.path() / "f");
  MappedFile moved = std::move(mapped);
  EXPECT_EQ(std::vector<std::uint8_t>(moved.bytes().begin(), moved.bytes().end()), bytes);
  EXPECT_TRUE(mapped.bytes().empty());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  test::write_file(folder.path() / "empty", {});
  EXPECT_TRUE(MappedFile(folder.path() / "empty").bytes().empty());
}

TEST(MappedFile, RefusesMissingFilesAndFolders) {
  test::TempCacheDir folder;
  for (const auto& path : {folder.path() / "absent", folder.path()}) {
    try {
      MappedFile mapped(path);
      FAIL() << "mapped " << path;
    } catch (const ConfigError& error) {
      EXPECT_EQ(error.rule(), "checkpoint_file");
      EXPECT_NE(std::string(error.what()).find(path.string()), std::string::npos) << error.what();
    }
  }
}

}  // namespace
}  // namespace marlin_jit::checkpoint
