// Tests for runtime/src/types.cpp: every vocabulary name round-trips, and near-misses are refused.
#include <gtest/gtest.h>

#include "marlin_jit/types.hpp"

namespace marlin_jit {
namespace {

TEST(Types, EnumNamesRoundTrip) {
  for (DType value : {DType::fp16, DType::bf16}) EXPECT_EQ(parse_dtype(to_string(value)), value);
  for (QuantType value :
       {QuantType::nvfp4, QuantType::mxfp4, QuantType::uint4b8, QuantType::uint4, QuantType::uint8b128}) {
    EXPECT_EQ(parse_quant_type(to_string(value)), value);
  }
  for (KernelKind value : {KernelKind::dense, KernelKind::moe, KernelKind::prep}) {
    EXPECT_EQ(parse_kernel_kind(to_string(value)), value);
  }
  for (Activation value : {Activation::none, Activation::silu_gated, Activation::relu2}) {
    EXPECT_EQ(parse_activation(to_string(value)), value);
  }
  EXPECT_EQ(to_string(QuantType::uint8b128), "uint8b128");
  EXPECT_EQ(to_string(Activation::silu_gated), "silu_gated");
}

TEST(Types, EnumNamesAreExact) {
  EXPECT_FALSE(parse_dtype("BF16"));
  EXPECT_FALSE(parse_dtype("bf16 "));
  EXPECT_FALSE(parse_quant_type("fp4"));
  EXPECT_FALSE(parse_kernel_kind(""));
  EXPECT_FALSE(parse_activation("silu"));
}

TEST(Types, TileConfigRoundTrips) {
  TileConfig tile{128, 4, 4, 4, 3};
  EXPECT_EQ(to_string(tile), "t128m4n4k4s3");
  EXPECT_EQ(parse_tile_config("t128m4n4k4s3"), tile);
  EXPECT_EQ(to_string(TileConfig{}), "t256m1n8k8s4");
  EXPECT_EQ(parse_tile_config("t256m1n8k8s4"), TileConfig{});
}

TEST(Types, TileConfigRefusesNonCanonicalText) {
  for (const char* bad : {"", "t256", "t256m1n8k8", "t256m1n8k8s4x", "t256m1n8k8s04", "t0m1n8k8s4", "m1t256n8k8s4",
                          "t-1m1n8k8s4", "t256m1n8k8s+4", "T256m1n8k8s4"}) {
    EXPECT_FALSE(parse_tile_config(bad)) << bad;
  }
}

}  // namespace
}  // namespace marlin_jit
