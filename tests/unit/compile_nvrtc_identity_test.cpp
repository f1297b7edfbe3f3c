// Tests for runtime/src/compile/nvrtc_identity.cpp: the loaded NVRTC and its builtins library are found and
// identified (ELF build id + size, not a hash of the whole library), once per process.
#include <gtest/gtest.h>

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
  const detail::NvrtcIdentity& identity = detail::nvrtc_identity();
  EXPECT_EQ(identity.version, nvrtc_version());
  EXPECT_TRUE(is_identity(identity.library_digest)) << identity.library_path << ": " << identity.library_digest;
  EXPECT_TRUE(is_identity(identity.builtins_digest)) << identity.builtins_path << ": " << identity.builtins_digest;
  EXPECT_NE(identity.library_digest, identity.builtins_digest);
  EXPECT_NE(identity.library_path.filename().string().find("nvrtc"), std::string::npos) << identity.library_path;
  std::cout << "[ measure  ] NVRTC identity for " << identity.library_path << ": " << identity.library_digest << "\n";
  // Cheap by construction, not by a clock (a timing bound failed under load): the CUDA toolkit's NVRTC carries an
  // ELF build id, so the identity must come from it rather than from hashing the 110 MB library.
  EXPECT_EQ(identity.library_digest.rfind("build-id ", 0), 0u) << identity.library_digest;
  EXPECT_EQ(&detail::nvrtc_identity(), &identity);  // computed once
}

}  // namespace
}  // namespace marlin_jit
