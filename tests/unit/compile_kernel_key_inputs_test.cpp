// Tests for runtime/src/compile/kernel_key_inputs.cpp (through Runtime::key_hex with real template trees): the key
// follows every header two includes deep and nothing unrelated, the arch, the name expression and the options,
// and does not depend on where the templates live.
#include <gtest/gtest.h>

#include "compile/kernel_key_inputs.hpp"
#include "marlin_jit/error.hpp"
#include "marlin_jit/runtime.hpp"
#include "temp_cache_dir.hpp"
#include "template_tree.hpp"

namespace marlin_jit {
namespace {

namespace fs = std::filesystem;


KernelRequest request(const std::string& name = "t::kern<1>", const std::string& arch = "sm_90") {
  return KernelRequest{test::kTreeEntryPath, name, arch};
}

class KernelKeyTest : public ::testing::Test {
 protected:
  void SetUp() override { test::write_template_tree(templates()); }
  fs::path templates() const { return dir_ / "templates"; }
  std::string key(const KernelRequest& r = request(), const fs::path& root = {}) const {
    RuntimeOptions options;
    options.cache_dir = dir_ / "cache";
    options.template_dir = root.empty() ? templates() : root;
    return Runtime(options).key_hex(r);
  }
  test::TempCacheDir dir_;
};

TEST_F(KernelKeyTest, IsThirtyTwoHexDigitsAndStable) {
  std::string first = key();
  EXPECT_EQ(first.size(), 32u);
  EXPECT_EQ(first.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(key(), first);
}

TEST_F(KernelKeyTest, ChangesWhenAHeaderTwoIncludesDeepChanges) {
  std::string before = key();
  test::write_bytes(templates() / "marlin_jit/b/deep.cuh",
                    std::string_view("#pragma once\n__device__ inline int deep_value() { return 8; }\n"));
  EXPECT_NE(key(), before);
}

TEST_F(KernelKeyTest, IgnoresAnUnrelatedHeader) {
  std::string before = key();
  test::write_bytes(templates() / "marlin_jit/other/unrelated.cuh", std::string_view("// edited\n"));
  test::write_bytes(templates() / "marlin_jit/other/new.cuh", std::string_view("// new\n"));
  EXPECT_EQ(key(), before);
}

TEST_F(KernelKeyTest, ChangesWithArchAndNameExpression) {
  std::string base = key();
  EXPECT_NE(key(request("t::kern<2>")), base);
  EXPECT_NE(key(request("t::kern<1>", "sm_80")), base);
  EXPECT_NE(key(request("t::kern<1>", "sm_90a")), base);
}

TEST_F(KernelKeyTest, IsTheSameForTheSameTemplatesInAnotherFolder) {
  fs::path elsewhere = dir_ / "relocated/checkout/templates";
  test::write_template_tree(elsewhere);
  EXPECT_EQ(key(request(), elsewhere), key());
}

TEST_F(KernelKeyTest, MissingEntryHeaderIsAConfigError) {
  try {
    key(KernelRequest{"marlin_jit/entry/none.cuh", "t::kern<1>", "sm_90"});
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.rule(), "kernel_request");
    EXPECT_EQ(error.value(), "marlin_jit/entry/none.cuh");
  }
  EXPECT_THROW(key(request("t::kern<1>", "compute_90")), ConfigError);
  EXPECT_THROW(key(KernelRequest{"/abs/k.cuh", "t::kern<1>", "sm_90"}), ConfigError);
}

TEST(KernelKeyInputs, OptionsAndNvrtcIdentityAreFields) {
  cache::HeaderClosure closure;
  closure.headers = {{"marlin_jit/entry/k.cuh", "content"}};
  detail::NvrtcIdentity nvrtc{"13.0", "aa", "bb", {}, {}};
  detail::KeyInputs inputs{"sm_90", "t::kern<1>", "marlin_jit/entry/k.cuh", &closure, {"-arch=sm_90", "-std=c++17"},
                           &nvrtc};
  cache::Digest base = detail::build_key(inputs).finish();
  EXPECT_EQ(detail::build_key(inputs).finish(), base);

  auto changed = inputs;
  changed.options.push_back("-lineinfo");
  EXPECT_NE(detail::build_key(changed).finish(), base);
  changed = inputs;
  changed.options = {"-std=c++17", "-arch=sm_90"};  // order is part of the command line
  EXPECT_NE(detail::build_key(changed).finish(), base);
  detail::NvrtcIdentity other_library = nvrtc;
  other_library.builtins_digest = "cc";
  changed = inputs;
  changed.nvrtc = &other_library;
  EXPECT_NE(detail::build_key(changed).finish(), base);
  // Paths used only to find files never enter the key.
  detail::NvrtcIdentity moved = nvrtc;
  moved.library_path = "/elsewhere/libnvrtc.so.13";
  changed = inputs;
  changed.nvrtc = &moved;
  EXPECT_EQ(detail::build_key(changed).finish(), base);
}

TEST(KernelKeyInputs, DescriptionNamesEveryField) {
  cache::HeaderClosure closure;
  closure.headers = {{"marlin_jit/entry/k.cuh", "content"}};
  closure.unresolved = {"cuda_fp16.h"};
  detail::NvrtcIdentity nvrtc{"13.0", "aa", "bb", {}, {}};
  detail::KeyInputs inputs{"sm_90", "t::kern<1>", "marlin_jit/entry/k.cuh", &closure, {"-arch=sm_90"}, &nvrtc};
  std::string description = detail::build_key(inputs).description();
  for (const char* field : {"runtime_key_version", "arch", "name_expression", "entry_header", "header_path",
                            "header_content", "option", "nvrtc_version", "nvrtc_library", "nvrtc_builtins"}) {
    EXPECT_NE(description.find(field), std::string::npos) << field << " missing from\n" << description;
  }
  EXPECT_EQ(description.find("/usr/local/cuda"), std::string::npos) << description;
}

}  // namespace
}  // namespace marlin_jit
