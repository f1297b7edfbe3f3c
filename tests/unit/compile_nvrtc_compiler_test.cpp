// Tests for runtime/src/compile/nvrtc_compiler.cpp with the real NVRTC (no GPU needed): cubins for sm_80 and sm_90
// with their lowered names and ptxas figures, toolkit headers found, and errors that name our headers and lines.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "compile/nvrtc_compiler.hpp"
#include "marlin_jit/error.hpp"
#include "template_tree.hpp"

namespace marlin_jit {
namespace {


detail::NvrtcInput input(const std::string& arch, const std::string& deep_body = "return 7;") {
  detail::NvrtcInput in;
  in.entry_header = test::kTreeEntryPath;
  in.name_expression = "t::kern<3>";
  in.headers = {{test::kTreeMidPath, test::kTreeMid},
                {test::kTreeDeepPath, test::tree_deep_header(deep_body)},
                {test::kTreeEntryPath, test::kTreeEntry}};
  in.options = detail::compile_options(arch);
  in.key_hex = "00112233445566778899aabbccddeeff";
  return in;
}

bool contains(const std::vector<char>& bytes, const std::string& needle) {
  return std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end()) != bytes.end();
}

TEST(NvrtcCompiler, CompilesToCubinForSm80AndSm90) {
  for (const char* arch : {"sm_80", "sm_90"}) {
    detail::NvrtcOutput out = detail::compile_with_nvrtc(input(arch));
    ASSERT_GE(out.cubin.size(), 4u);
    EXPECT_EQ(std::string(out.cubin.data(), 4), "\x7f" "ELF") << arch;
    EXPECT_EQ(out.lowered_name, "_ZN1t4kernILi3EEEvPi");
    EXPECT_TRUE(contains(out.cubin, out.lowered_name)) << arch;
    EXPECT_GT(out.stats.registers, 0) << out.log;
    EXPECT_EQ(out.stats.cubin_bytes, out.cubin.size());
    EXPECT_GT(out.stats.compile_seconds, 0.0);
    EXPECT_NE(out.log.find(std::string("for '") + arch + "'"), std::string::npos) << out.log;
  }
}

TEST(NvrtcCompiler, KeyOptionsHaveNoAbsolutePath) {
  for (const auto& option : detail::key_options("sm_90")) EXPECT_EQ(option.find('/'), std::string::npos) << option;
  auto full = detail::compile_options("sm_90");
  ASSERT_EQ(full.size(), detail::key_options("sm_90").size() + 1);
  EXPECT_EQ(full.back().rfind("-I/", 0), 0u) << full.back();
}

TEST(NvrtcCompiler, FindsToolkitHeaders) {
  detail::NvrtcInput in = input("sm_90");
  in.headers.push_back({"marlin_jit/entry/half.cuh", R"(#pragma once
#include <cuda_fp16.h>
#include <cuda_bf16.h>
namespace t { __global__ void halves(__half* h, __nv_bfloat16* b) { h[0] = __float2half(1.0f); b[0] = __float2bfloat16(2.0f); } }
)"});
  in.entry_header = "marlin_jit/entry/half.cuh";
  in.name_expression = "t::halves";
  EXPECT_NO_THROW(detail::compile_with_nvrtc(in));
}

TEST(NvrtcCompiler, ErrorTwoIncludesDeepNamesTheHeaderAndLine) {
  detail::NvrtcInput in = input("sm_90", "return undefined_symbol;");
  try {
    detail::compile_with_nvrtc(in);
    FAIL() << "compiled";
  } catch (const CompileError& error) {
    const std::string where = "marlin_jit/b/deep.cuh(3)";
    EXPECT_NE(error.log().find(where), std::string::npos) << error.log();
    EXPECT_NE(std::string(error.what()).find(where), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("undefined_symbol"), std::string::npos) << error.what();
    EXPECT_EQ(error.info().options, in.options);
    EXPECT_EQ(error.info().entry_name, "t::kern<3>");
    EXPECT_EQ(error.info().key_hex, in.key_hex);
    EXPECT_EQ(error.info().header_list,
              (std::vector<std::string>{"marlin_jit/a/mid.cuh", "marlin_jit/b/deep.cuh", "marlin_jit/entry/k.cuh"}));
    EXPECT_NE(error.info().nvrtc_result, 0);
  }
}

TEST(NvrtcCompiler, UnknownNameExpressionIsACompileError) {
  detail::NvrtcInput in = input("sm_90");
  in.name_expression = "t::no_such_kernel<1>";
  EXPECT_THROW(detail::compile_with_nvrtc(in), CompileError);
}

TEST(NvrtcCompiler, MissingIncludeIsACompileErrorNamingIt) {
  detail::NvrtcInput in = input("sm_90");
  in.headers.erase(in.headers.begin());  // drop marlin_jit/a/mid.cuh
  try {
    detail::compile_with_nvrtc(in);
    FAIL();
  } catch (const CompileError& error) {
    EXPECT_NE(error.log().find("marlin_jit/a/mid.cuh"), std::string::npos) << error.log();
  }
}

}  // namespace
}  // namespace marlin_jit
