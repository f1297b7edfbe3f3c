// Tests for runtime/src/kernel_spec.cpp: the spec grammar round-trips exactly, and every bad part is refused with
// rule spec_grammar naming that part.
#include <gtest/gtest.h>

#include "marlin_jit/error.hpp"
#include "marlin_jit/kernel_spec.hpp"

namespace marlin_jit {
namespace {

TEST(KernelSpec, DenseParsesEveryField) {
  KernelSpec spec = parse_kernel_spec("dense/nvfp4/fp16/g16/sm_80/t128m2n4k8s3");
  EXPECT_EQ(spec.kind, KernelKind::dense);
  EXPECT_EQ(spec.quant, QuantType::nvfp4);
  EXPECT_EQ(spec.dtype, DType::fp16);
  EXPECT_EQ(spec.group_size, 16);
  EXPECT_EQ(spec.sm, 80);
  EXPECT_EQ(spec.tile, (TileConfig{128, 2, 4, 8, 3}));
  EXPECT_EQ(spec.activation, Activation::none);
}

TEST(KernelSpec, MoeAndPrepParse) {
  KernelSpec moe = parse_kernel_spec("moe/nvfp4/bf16/g16/relu2/sm_90/t256m1n8k8s4");
  EXPECT_EQ(moe.kind, KernelKind::moe);
  EXPECT_EQ(moe.activation, Activation::relu2);
  KernelSpec prep = parse_kernel_spec("prep/nvfp4/dequant_bf16/sm_89");
  EXPECT_EQ(prep.kind, KernelKind::prep);
  EXPECT_EQ(prep.prep_op, "dequant_bf16");
  EXPECT_EQ(prep.sm, 89);
}

TEST(KernelSpec, RoundTripsExactly) {
  for (const char* text : {"dense/nvfp4/bf16/g16/sm_90/t256m1n8k8s4", "dense/uint4b8/fp16/g-1/sm_86/t128m4n4k4s2",
                           "dense/mxfp4/bf16/g32/sm_87/t256m2n8k4s4",
                           "moe/nvfp4/fp16/g16/silu_gated/sm_80/t256m1n8k8s4",
                           "moe/nvfp4/bf16/g16/none/sm_90/t256m2n8k8s4", "prep/nvfp4/repack/sm_90",
                           "prep/uint4/scales/sm_80"}) {
    EXPECT_EQ(to_string(parse_kernel_spec(text)), text);
  }
  KernelSpec spec;
  spec.kind = KernelKind::moe;
  spec.activation = Activation::silu_gated;
  EXPECT_EQ(parse_kernel_spec(to_string(spec)), spec);
}

void expect_refused(const std::string& text, const std::string& part) {
  try {
    parse_kernel_spec(text);
    ADD_FAILURE() << "accepted " << text;
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.rule(), "spec_grammar") << text;
    EXPECT_EQ(error.value(), part) << text;
    EXPECT_NE(std::string(error.what()).find("(rule spec_grammar)"), std::string::npos) << error.what();
  }
}

TEST(KernelSpec, BadPartsAreNamed) {
  expect_refused("sparse/nvfp4/bf16/g16/sm_90/t256m1n8k8s4", "sparse");
  expect_refused("dense/int8/bf16/g16/sm_90/t256m1n8k8s4", "int8");
  expect_refused("dense/nvfp4/fp32/g16/sm_90/t256m1n8k8s4", "fp32");
  expect_refused("dense/nvfp4/bf16/16/sm_90/t256m1n8k8s4", "16");
  expect_refused("dense/nvfp4/bf16/g016/sm_90/t256m1n8k8s4", "g016");
  expect_refused("dense/nvfp4/bf16/g0/sm_90/t256m1n8k8s4", "g0");
  expect_refused("dense/nvfp4/bf16/g16/sm90/t256m1n8k8s4", "sm90");
  expect_refused("dense/nvfp4/bf16/g16/sm_090/t256m1n8k8s4", "sm_090");
  expect_refused("dense/nvfp4/bf16/g16/sm_90/t256m1n8", "t256m1n8");
  expect_refused("moe/nvfp4/bf16/g16/gelu/sm_90/t256m1n8k8s4", "gelu");
  expect_refused("prep/nvfp4/Repack/sm_90", "Repack");
  expect_refused("prep/nvfp4//sm_90", "");
}

TEST(KernelSpec, WrongPartCountIsRefused) {
  expect_refused("dense/nvfp4/bf16/g16/sm_90", "dense/nvfp4/bf16/g16/sm_90");
  expect_refused("prep/nvfp4/repack/sm_90/extra", "prep/nvfp4/repack/sm_90/extra");
  expect_refused("", "");
  expect_refused("dense/nvfp4/bf16/g16/sm_90/t256m1n8k8s4/", "dense/nvfp4/bf16/g16/sm_90/t256m1n8k8s4/");
}

}  // namespace
}  // namespace marlin_jit
