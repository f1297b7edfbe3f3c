// Defaults from the environment: the cache folder's precedence (MARLIN_JIT_CACHE_DIR, XDG_CACHE_HOME, HOME) and
// the size cap (MARLIN_JIT_CACHE_MAX_BYTES, with suffixes; a bad value warns and falls back).
#include "marlin_jit/cache/cache_dir.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>

#include "temp_cache_dir.hpp"

using namespace marlin_jit::cache;
namespace fs = std::filesystem;

namespace {

// Sets (or unsets, for nullopt) variables for one test and restores them afterwards.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, std::optional<std::string>>> values) {
    for (const auto& [name, value] : values) {
      const char* old = std::getenv(name);
      saved_.emplace(name, old ? std::optional<std::string>(old) : std::nullopt);
      set(name, value);
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) set(name.c_str(), value);
  }

 private:
  static void set(const char* name, const std::optional<std::string>& value) {
    if (value) ::setenv(name, value->c_str(), 1);
    else ::unsetenv(name);
  }
  std::map<std::string, std::optional<std::string>> saved_;
};

}  // namespace

TEST(DefaultReadOnlyCacheDirs, ColonSeparatedListInOrderSkippingEmptyItems) {
  {
    ScopedEnv env{{"MARLIN_JIT_CACHE_READONLY_DIRS", "/image/cache::/opt/prebuilt:"}};
    EXPECT_EQ(default_read_only_cache_dirs(), (std::vector<fs::path>{"/image/cache", "/opt/prebuilt"}));
  }
  {
    ScopedEnv env{{"MARLIN_JIT_CACHE_READONLY_DIRS", std::nullopt}};
    EXPECT_TRUE(default_read_only_cache_dirs().empty());
  }
  ScopedEnv env{{"MARLIN_JIT_CACHE_READONLY_DIRS", ":"}};
  EXPECT_TRUE(default_read_only_cache_dirs().empty());
}

TEST(DefaultCacheDir, ExplicitVariableWinsOverXdgAndHome) {
  ScopedEnv env{{"MARLIN_JIT_CACHE_DIR", "/srv/kernels"}, {"XDG_CACHE_HOME", "/xdg"}, {"HOME", "/home/u"}};
  EXPECT_EQ(default_cache_dir(), fs::path("/srv/kernels"));
}

TEST(DefaultCacheDir, XdgCacheHomeWinsOverHome) {
  ScopedEnv env{{"MARLIN_JIT_CACHE_DIR", std::nullopt}, {"XDG_CACHE_HOME", "/xdg"}, {"HOME", "/home/u"}};
  EXPECT_EQ(default_cache_dir(), fs::path("/xdg/marlin-jit"));
}

TEST(DefaultCacheDir, HomeIsTheFallback) {
  ScopedEnv env{{"MARLIN_JIT_CACHE_DIR", std::nullopt}, {"XDG_CACHE_HOME", std::nullopt}, {"HOME", "/home/u"}};
  EXPECT_EQ(default_cache_dir(), fs::path("/home/u/.cache/marlin-jit"));
}

TEST(DefaultCacheDir, EmptyVariablesCountAsUnset) {
  ScopedEnv env{{"MARLIN_JIT_CACHE_DIR", ""}, {"XDG_CACHE_HOME", ""}, {"HOME", "/home/u"}};
  EXPECT_EQ(default_cache_dir(), fs::path("/home/u/.cache/marlin-jit"));
}

TEST(DefaultCacheDir, RelativeXdgCacheHomeIsIgnoredAsTheSpecRequires) {
  ScopedEnv env{{"MARLIN_JIT_CACHE_DIR", std::nullopt}, {"XDG_CACHE_HOME", "relative/cache"}, {"HOME", "/home/u"}};
  EXPECT_EQ(default_cache_dir(), fs::path("/home/u/.cache/marlin-jit"));
}

TEST(DefaultCacheDir, WithoutAnyVariableAPerUserTempFolderIsUsed) {
  ScopedEnv env{{"MARLIN_JIT_CACHE_DIR", std::nullopt}, {"XDG_CACHE_HOME", std::nullopt}, {"HOME", std::nullopt}};
  const fs::path dir = default_cache_dir();
  EXPECT_TRUE(dir.is_absolute());
  EXPECT_EQ(dir.filename().string(), "marlin-jit-" + std::to_string(::getuid()));
}

TEST(DefaultMaxBytes, IsTwoGiBWhenUnset) {
  ScopedEnv env{{"MARLIN_JIT_CACHE_MAX_BYTES", std::nullopt}};
  EXPECT_EQ(default_max_bytes(), 2ull << 30);
}

TEST(DefaultMaxBytes, ReadsPlainBytesAndBinarySuffixes) {
  const std::pair<const char*, std::uint64_t> cases[] = {
      {"1048576", 1048576}, {"0", 0},          {"64K", 64ull << 10}, {"512M", 512ull << 20}, {"2G", 2ull << 30},
      {"2g", 2ull << 30},   {"3GiB", 3ull << 30}, {"1T", 1ull << 40}, {"10kb", 10ull << 10}, {"7B", 7},
  };
  for (const auto& [text, bytes] : cases) {
    ScopedEnv env{{"MARLIN_JIT_CACHE_MAX_BYTES", text}};
    EXPECT_EQ(default_max_bytes(), bytes) << text;
  }
}

TEST(DefaultMaxBytes, BadValueWarnsOnceAndUsesTheDefault) {
  for (const char* text : {"lots", "-5", "12X", "1.5G", "G", " 5", "99999999999999999999", "20000000T"}) {
    ScopedEnv env{{"MARLIN_JIT_CACHE_MAX_BYTES", text}};
    marlin_jit::test::LogCapture log;
    EXPECT_EQ(default_max_bytes(), kDefaultMaxBytes) << text;
    EXPECT_EQ(log.count_containing("MARLIN_JIT_CACHE_MAX_BYTES"), 1u) << text;
  }
}
