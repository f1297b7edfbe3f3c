// Tests for runtime/src/compile/nvrtc_identity.cpp: the loaded NVRTC and its builtins library are found and
// identified (ELF build id + size), once per process and quickly.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <regex>

#include "compile/nvrtc_identity.hpp"
#include "marlin_jit/version.hpp"

namespace marlin_jit {
namespace {

// "build-id <hex> size <n>" or "xxh3 <32 hex>".
bool is_identity(const std::string& text) {
  std::smatch match;
  return std::regex_match(text, match, std::regex("build-id [0-9a-f]{16,} size [1-9][0-9]*|xxh3 [0-9a-f]{32}"));
}

TEST(NvrtcIdentity, DigestsTheLoadedLibraries) {
  auto start = std::chrono::steady_clock::now();
  const detail::NvrtcIdentity& identity = detail::nvrtc_identity();
  double first = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(identity.version, nvrtc_version());
  EXPECT_TRUE(is_identity(identity.library_digest)) << identity.library_path << ": " << identity.library_digest;
  EXPECT_TRUE(is_identity(identity.builtins_digest)) << identity.builtins_path << ": " << identity.builtins_digest;
  EXPECT_NE(identity.library_digest, identity.builtins_digest);
  EXPECT_NE(identity.library_path.filename().string().find("nvrtc"), std::string::npos) << identity.library_path;
  std::cout << "[ measure  ] NVRTC identity: " << first << " s for " << identity.library_path << ": "
            << identity.library_digest << "\n";
  EXPECT_LT(first, 0.05) << "the identity should come from build ids, not from reading 110 MB";

  start = std::chrono::steady_clock::now();
  EXPECT_EQ(&detail::nvrtc_identity(), &identity);  // computed once
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.01);
}

}  // namespace
}  // namespace marlin_jit
