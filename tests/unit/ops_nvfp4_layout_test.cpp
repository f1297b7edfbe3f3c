// The prepared NVFP4 layout and the kernel's bit-level decode reproduce the checkpoint exactly: every e2m1 code
// under every finite e4m3 scale (negative and zero included), in fp16 and bf16, for several global scales.
#include <gtest/gtest.h>

#include "nvfp4_checkpoint.hpp"
#include "nvfp4_prepared_reference.hpp"

namespace marlin_jit::test {
namespace {

// Rows × 256 groups: group b of row r takes scale code (b + r) % 256, codes cycle through all 16.
Nvfp4HostLayer every_code_layer(float global_scale) {
  Nvfp4HostLayer layer(32, 16 * 256);
  layer.global_scale = global_scale;
  for (std::int64_t row = 0; row < layer.n; ++row) {
    for (std::int64_t block = 0; block < 256; ++block) {
      std::uint8_t code = static_cast<std::uint8_t>((block + row) % 256);
      if (e4m3fn_is_nan(code)) code = 0x3F;  // NaN is refused at preparation; tested separately
      layer.scale(row, block) = code;
      for (std::int64_t kin = 0; kin < 16; ++kin) {
        layer.set_code(row, 16 * block + kin, static_cast<std::uint8_t>((kin + row + block) % 16));
      }
    }
  }
  return layer;
}

class Nvfp4Layout : public ::testing::TestWithParam<std::tuple<DType, float>> {};

TEST_P(Nvfp4Layout, KernelDecodeOfPreparedLayoutIsExactForEveryCodeAndScale) {
  const auto [dtype, global_scale] = GetParam();
  const Nvfp4HostLayer layer = every_code_layer(global_scale);
  const PreparedHostLayer prepared = prepare_reference(layer);
  std::int64_t mismatches = 0;
  for (std::int64_t row = 0; row < layer.n; ++row) {
    for (std::int64_t col = 0; col < layer.k; ++col) {
      const std::optional<double> seen = kernel_weight_reference(prepared, layer.global_scale, row, col, dtype);
      const double expected = layer.dequant(row, col);
      if (!seen || *seen != expected) {
        if (++mismatches <= 5) {
          ADD_FAILURE() << dtype_name(dtype) << " row " << row << " col " << col << " code "
                        << int(layer.code(row, col)) << " scale 0x" << std::hex << int(layer.scale(row, col / 16))
                        << std::dec << ": expected " << expected << " got " << (seen ? *seen : NAN)
                        << (seen ? "" : " (the dtype multiply rounds)");
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
}

std::string case_name(const ::testing::TestParamInfo<std::tuple<DType, float>>& info) {
  const float global = std::get<1>(info.param);
  const char* regime = global == 1.0f ? "one" : global == 0.0123f ? "small" : global < 0 ? "negative_tiny" : "huge";
  return std::string(dtype_name(std::get<0>(info.param))) + "_" + regime;
}

INSTANTIATE_TEST_SUITE_P(AllScales, Nvfp4Layout,
                         ::testing::Combine(::testing::Values(DType::fp16, DType::bf16),
                                            ::testing::Values(1.0f, 0.0123f, -3.5e-5f, 1e20f)),
                         case_name);

TEST(Nvfp4Layout, PaddedRowsAreZero) {
  Nvfp4HostLayer layer(70, 128);
  for (auto& byte : layer.weight) byte = 0x77;
  for (auto& scale : layer.weight_scale) scale = 0x38;
  const PreparedHostLayer prepared = prepare_reference(layer);
  EXPECT_EQ(prepared.n_padded, 128);
  for (std::int64_t row = 70; row < 128; ++row) {
    for (std::int64_t col = 0; col < 128; ++col) {
      const std::optional<double> seen = kernel_weight_reference(prepared, 1.0f, row, col, DType::bf16);
      ASSERT_TRUE(seen.has_value());
      EXPECT_EQ(*seen, 0.0) << "padded row " << row << " col " << col;
    }
  }
}

TEST(Nvfp4Layout, EveryFiniteScaleByteHoldsAThreeBitMantissaNormalHalf) {
  for (int code = 1; code < 0x7F; ++code) {
    const std::uint8_t byte = prepared_scale_byte_reference(static_cast<std::uint8_t>(code));
    const int exponent_field = byte >> 3;
    EXPECT_GE(exponent_field, 13) << "code " << code;
    EXPECT_LE(exponent_field, 30) << "code " << code;
    EXPECT_EQ(half_to_double(static_cast<std::uint16_t>(byte << 7), DType::fp16), e4m3fn_to_double(static_cast<std::uint8_t>(code)) * 128.0);
  }
}

}  // namespace
}  // namespace marlin_jit::test
