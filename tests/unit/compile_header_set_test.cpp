// Tests for runtime/src/compile/header_set.cpp: embedded and override template sets, containment of reads, the
// MARLIN_JIT_TEMPLATE_DIR fallback, the toolkit include folder, and that every shipped entry header's includes
// resolve inside the set (NVRTC finds in-memory headers only by their template-relative names).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <regex>
#include <sstream>

#include "compile/header_set.hpp"
#include "../../templates/embed/embedded_templates.hpp"
#include "temp_cache_dir.hpp"

namespace marlin_jit {
namespace {

namespace fs = std::filesystem;

TEST(HeaderSet, EmbeddedSetServesEveryEmbeddedTemplate) {
  auto set = detail::HeaderSet::resolve(std::nullopt);
  if (std::getenv("MARLIN_JIT_TEMPLATE_DIR") != nullptr) GTEST_SKIP() << "MARLIN_JIT_TEMPLATE_DIR is set";
  ASSERT_TRUE(set.embedded());
  for (const auto& entry : detail::embedded_templates()) {
    auto content = set.read(std::string(entry.path));
    ASSERT_TRUE(content) << entry.path;
    EXPECT_EQ(*content, entry.content) << entry.path;
  }
  EXPECT_FALSE(set.read("marlin_jit/no/such.cuh"));
}

TEST(HeaderSet, EveryEmbeddedIncludeOfOursResolves) {
  auto set = detail::HeaderSet::resolve(std::nullopt);
  if (!set.embedded()) GTEST_SKIP() << "MARLIN_JIT_TEMPLATE_DIR is set";
  const std::regex include_line(R"(^\s*#\s*include\s*["<]([^">]+)[">])");
  for (const auto& entry : detail::embedded_templates()) {
    auto closure = set.closure(std::string(entry.path));
    for (const auto& name : closure.unresolved) {
      EXPECT_NE(name.rfind("marlin_jit/", 0), 0u) << entry.path << " includes missing " << name;
    }
    // An include of ours must be written template-relative: NVRTC matches in-memory headers by exact name.
    std::istringstream lines{std::string(entry.content)};
    for (std::string line; std::getline(lines, line);) {
      std::smatch match;
      if (!std::regex_search(line, match, include_line)) continue;
      std::string name = match[1].str();
      bool toolkit = std::find(closure.unresolved.begin(), closure.unresolved.end(), name) != closure.unresolved.end();
      EXPECT_TRUE(toolkit || name.rfind("marlin_jit/", 0) == 0) << entry.path << ": " << line;
    }
  }
}

TEST(HeaderSet, OverrideFolderIsReadFromDisk) {
  test::TempCacheDir dir;
  test::write_bytes(dir / "marlin_jit/x.cuh", std::string_view("one"));
  auto set = detail::HeaderSet::resolve(dir.path());
  EXPECT_FALSE(set.embedded());
  EXPECT_EQ(set.read("marlin_jit/x.cuh"), "one");
  test::write_bytes(dir / "marlin_jit/x.cuh", std::string_view("two"));
  EXPECT_EQ(set.read("marlin_jit/x.cuh"), "two");  // read afresh, not cached
  EXPECT_FALSE(set.read("marlin_jit/missing.cuh"));
  EXPECT_FALSE(set.read("marlin_jit"));  // a folder is not a header
}

TEST(HeaderSet, NeverReadsOutsideTheRoot) {
  test::TempCacheDir dir;
  test::write_bytes(dir / "secret.txt", std::string_view("secret"));
  test::write_bytes(dir / "root/marlin_jit/x.cuh", std::string_view("x"));
  auto set = detail::HeaderSet::resolve(dir / "root");
  EXPECT_FALSE(set.read("../secret.txt"));
  EXPECT_FALSE(set.read("marlin_jit/../../secret.txt"));
  EXPECT_FALSE(set.read((dir / "secret.txt").string()));
  EXPECT_FALSE(set.read(""));
}

TEST(HeaderSet, EnvironmentOverridesTheEmbeddedSet) {
  test::TempCacheDir dir;
  test::write_bytes(dir / "marlin_jit/x.cuh", std::string_view("env"));
  const char* saved = std::getenv("MARLIN_JIT_TEMPLATE_DIR");
  std::string saved_value = saved != nullptr ? saved : "";
  ::setenv("MARLIN_JIT_TEMPLATE_DIR", dir.path().c_str(), 1);
  auto from_env = detail::HeaderSet::resolve(std::nullopt);
  auto explicit_dir = detail::HeaderSet::resolve(dir / "elsewhere");
  ::setenv("MARLIN_JIT_TEMPLATE_DIR", "", 1);
  auto empty_env = detail::HeaderSet::resolve(std::nullopt);
  if (saved != nullptr) {
    ::setenv("MARLIN_JIT_TEMPLATE_DIR", saved_value.c_str(), 1);
  } else {
    ::unsetenv("MARLIN_JIT_TEMPLATE_DIR");
  }
  EXPECT_EQ(from_env.read("marlin_jit/x.cuh"), "env");
  EXPECT_EQ(explicit_dir.directory(), dir / "elsewhere");
  EXPECT_TRUE(empty_env.embedded());
}

TEST(HeaderSet, ToolkitIncludeFolderHoldsTheFp16Header) {
  EXPECT_TRUE(fs::is_regular_file(detail::toolkit_include_dir() / "cuda_fp16.h")) << detail::toolkit_include_dir();
}

}  // namespace
}  // namespace marlin_jit
