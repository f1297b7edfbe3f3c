// Tests for runtime/src/compile/nvrtc_identity.cpp: the loaded NVRTC and its builtins library are found and
// digested, once per process.
#include <gtest/gtest.h>

#include <chrono>

#include "../../runtime/src/compile/nvrtc_identity.hpp"
#include "marlin_jit/version.hpp"

namespace marlin_jit {
namespace {

bool is_digest(const std::string& text) {
  return text.size() == 32 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(NvrtcIdentity, DigestsTheLoadedLibraries) {
  auto start = std::chrono::steady_clock::now();
  const detail::NvrtcIdentity& identity = detail::nvrtc_identity();
  double first = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(identity.version, nvrtc_version());
  EXPECT_TRUE(is_digest(identity.library_digest)) << identity.library_path << ": " << identity.library_digest;
  EXPECT_TRUE(is_digest(identity.builtins_digest)) << identity.builtins_path << ": " << identity.builtins_digest;
  EXPECT_NE(identity.library_digest, identity.builtins_digest);
  EXPECT_NE(identity.library_path.filename().string().find("nvrtc"), std::string::npos) << identity.library_path;
  std::cout << "[ measure  ] NVRTC identity: " << first << " s for " << identity.library_path << "\n";

  start = std::chrono::steady_clock::now();
  EXPECT_EQ(&detail::nvrtc_identity(), &identity);  // computed once
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.01);
}

}  // namespace
}  // namespace marlin_jit
