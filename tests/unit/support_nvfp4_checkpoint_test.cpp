// The test support itself, checked before anything is judged by it: the codecs against independent formulas over
// every code, the generators' promises (ModelOpt-like accuracy, adversarial coverage, NaN placement), and the
// float64 reference GEMM and error norm (tests/support/nvfp4_checkpoint.hpp, tests/support/reference_gemm.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "test_seed.hpp"
#include "nvfp4_checkpoint.hpp"
#include "reference_gemm.hpp"

namespace marlin_jit::test {
namespace {

#define MARLIN_JIT_TRACE_SEED() SCOPED_TRACE("MARLIN_JIT_TEST_SEED=" + std::to_string(run_seed()))

// ---- codecs

TEST(E2m1, decodes_each_of_the_16_codes_to_its_table_value) {
  const double magnitudes[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
  for (unsigned code = 0; code < 16; ++code) {
    const double expected = code < 8 ? magnitudes[code] : -magnitudes[code - 8];
    EXPECT_EQ(e2m1_to_double(static_cast<std::uint8_t>(code)), expected) << "code " << code;
  }
  EXPECT_TRUE(std::signbit(e2m1_to_double(8))) << "code 8 is −0";
}

TEST(E2m1, encoder_round_trips_every_value_and_rounds_ties_to_even) {
  for (unsigned code = 0; code < 16; ++code) {
    EXPECT_EQ(e2m1_from_double(e2m1_to_double(static_cast<std::uint8_t>(code))), code) << "code " << code;
  }
  // Midpoints between neighbours go to the even code: 0|0.5→0, 0.5|1→1, 1|1.5→1, 1.5|2→2, 2|3→2, 3|4→4, 4|6→4.
  const double midpoints[7] = {0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0};
  const double expected[7] = {0, 1, 1, 2, 2, 4, 4};
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(e2m1_to_double(e2m1_from_double(midpoints[i])), expected[i]) << midpoints[i];
    EXPECT_EQ(e2m1_to_double(e2m1_from_double(-midpoints[i])), -expected[i]) << -midpoints[i];
  }
  EXPECT_EQ(e2m1_to_double(e2m1_from_double(1.2500001)), 1.5);
  EXPECT_EQ(e2m1_to_double(e2m1_from_double(4.9999999)), 4.0);
  EXPECT_EQ(e2m1_from_double(7.0), 7u) << "saturates at 6";
  EXPECT_EQ(e2m1_from_double(-1e9), 15u) << "saturates at −6";
  EXPECT_EQ(e2m1_from_double(-0.1), 8u) << "a small negative value keeps its sign: −0";
}

// Independent of the decoder's form: every finite e4m3fn magnitude is an integer times 2^-9.
double e4m3fn_by_formula(unsigned byte) {
  const unsigned exponent = (byte >> 3) & 15, mantissa = byte & 7;
  const double units = exponent == 0 ? mantissa : 8.0 + mantissa;  // in 2^(max(e,1) − 10)
  const double magnitude = units * std::pow(2.0, static_cast<double>(std::max(exponent, 1u)) - 10.0);
  return (byte & 0x80) != 0 ? -magnitude : magnitude;
}

TEST(E4m3fn, decodes_all_256_codes_like_the_formula) {
  for (unsigned byte = 0; byte < 256; ++byte) {
    const auto b = static_cast<std::uint8_t>(byte);
    if (byte == 0x7F || byte == 0xFF) {
      EXPECT_TRUE(std::isnan(e4m3fn_to_double(b))) << "byte " << byte;
    } else {
      EXPECT_EQ(e4m3fn_to_double(b), e4m3fn_by_formula(byte)) << "byte " << byte;
    }
  }
  EXPECT_EQ(e4m3fn_to_double(0x7E), 448.0);
  EXPECT_EQ(e4m3fn_to_double(0xFE), -448.0);
  EXPECT_EQ(e4m3fn_to_double(0x01), std::ldexp(1.0, -9));
  EXPECT_EQ(e4m3fn_to_double(0x07), 7 * std::ldexp(1.0, -9));
  EXPECT_EQ(e4m3fn_to_double(0x08), std::ldexp(1.0, -6));
  EXPECT_EQ(e4m3fn_to_double(0x38), 1.0);
  EXPECT_TRUE(std::signbit(e4m3fn_to_double(0x80))) << "0x80 is −0";
}

TEST(E4m3fn, detects_exactly_the_two_nan_codes) {
  for (unsigned byte = 0; byte < 256; ++byte) {
    EXPECT_EQ(e4m3fn_is_nan(static_cast<std::uint8_t>(byte)), byte == 0x7F || byte == 0xFF) << "byte " << byte;
  }
}

TEST(E4m3fn, encoder_round_trips_every_finite_code_and_rounds_ties_to_even) {
  for (unsigned byte = 0; byte < 256; ++byte) {
    if (byte == 0x7F || byte == 0xFF) continue;
    EXPECT_EQ(e4m3fn_from_double(e4m3fn_to_double(static_cast<std::uint8_t>(byte))), byte) << "byte " << byte;
  }
  for (unsigned code = 0; code < 0x7E; ++code) {
    const double lo = e4m3fn_to_double(static_cast<std::uint8_t>(code));
    const double hi = e4m3fn_to_double(static_cast<std::uint8_t>(code + 1));
    const unsigned even = code % 2 == 0 ? code : code + 1;
    EXPECT_EQ(e4m3fn_from_double((lo + hi) / 2), even) << "midpoint above code " << code;
    EXPECT_EQ(e4m3fn_from_double(std::nextafter((lo + hi) / 2, 0.0)), code);
    EXPECT_EQ(e4m3fn_from_double(std::nextafter((lo + hi) / 2, 1e9)), code + 1);
  }
  EXPECT_EQ(e4m3fn_from_double(460.0), 0x7Eu) << "above 448 saturates";
  EXPECT_EQ(e4m3fn_from_double(std::ldexp(1.0, -11)), 0x00u) << "2^-11 is below half the smallest subnormal";
  EXPECT_EQ(e4m3fn_from_double(std::nan("")), 0x7Fu);
}

// The bit-level fp16/bf16 encoders against the generic nearest-code search over the magnitude codes.
std::uint16_t nearest_by_search(double x, DType dtype) {
  const unsigned max_finite = dtype == DType::fp16 ? 0x7BFF : 0x7F7F;
  const unsigned code = detail::round_magnitude_to_code(
      std::fabs(x), max_finite, [&](unsigned c) { return half_to_double(static_cast<std::uint16_t>(c), dtype); });
  return static_cast<std::uint16_t>(code | (std::signbit(x) ? 0x8000u : 0u));
}

class HalfCodecs : public ::testing::TestWithParam<DType> {};

TEST_P(HalfCodecs, every_finite_code_round_trips) {
  const DType dtype = GetParam();
  for (unsigned bits = 0; bits < 65536; ++bits) {
    const double value = half_to_double(static_cast<std::uint16_t>(bits), dtype);
    if (!std::isfinite(value)) continue;
    ASSERT_EQ(half_from_double(value, dtype), bits) << dtype_name(dtype) << " bits " << bits;
  }
}

TEST_P(HalfCodecs, midpoints_round_to_even_and_neighbours_to_nearest) {
  const DType dtype = GetParam();
  const unsigned max_finite = dtype == DType::fp16 ? 0x7BFF : 0x7F7F;
  for (unsigned code = 0; code < max_finite; ++code) {
    const double lo = half_to_double(static_cast<std::uint16_t>(code), dtype);
    const double hi = half_to_double(static_cast<std::uint16_t>(code + 1), dtype);
    const double mid = (lo + hi) / 2;  // exact: both have far fewer than 52 significant bits
    ASSERT_EQ(half_from_double(mid, dtype), code % 2 == 0 ? code : code + 1) << "above code " << code;
    ASSERT_EQ(half_from_double(std::nextafter(mid, 0.0), dtype), code);
    ASSERT_EQ(half_from_double(-std::nextafter(mid, 1e300), dtype), (code + 1) | 0x8000u);
  }
}

TEST_P(HalfCodecs, random_values_match_the_nearest_code_search) {
  MARLIN_JIT_TRACE_SEED();
  const DType dtype = GetParam();
  TestRng rng(stream_seed(run_seed(), 11));
  for (int i = 0; i < 200000; ++i) {
    const double x = rng.normal() * std::ldexp(1.0, static_cast<int>(rng.below(60)) - 40);
    if (std::fabs(x) >= (dtype == DType::fp16 ? 65520.0 : 1e38)) continue;  // overflow: the next test's subject
    ASSERT_EQ(half_from_double(x, dtype), nearest_by_search(x, dtype)) << x;
  }
}

TEST_P(HalfCodecs, overflow_becomes_infinity_and_nan_stays_nan) {
  const DType dtype = GetParam();
  const double max_finite = half_to_double(dtype == DType::fp16 ? 0x7BFF : 0x7F7F, dtype);
  const double half_ulp = dtype == DType::fp16 ? 16.0 : std::ldexp(1.0, 119);
  EXPECT_EQ(half_from_double(max_finite + half_ulp / 2, dtype), dtype == DType::fp16 ? 0x7BFF : 0x7F7F);
  EXPECT_EQ(half_from_double(max_finite + half_ulp, dtype), dtype == DType::fp16 ? 0x7C00 : 0x7F80);
  EXPECT_EQ(half_from_double(-1e300, dtype), dtype == DType::fp16 ? 0xFC00 : 0xFF80);
  EXPECT_TRUE(std::isnan(half_to_double(half_from_double(std::nan(""), dtype), dtype)));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, HalfCodecs, ::testing::Values(DType::fp16, DType::bf16),
                         [](const ::testing::TestParamInfo<DType>& param) {
                           return std::string(dtype_name(param.param));
                         });

// ---- the layer and its generators

TEST(Nvfp4HostLayer, stores_even_k_in_the_low_nibble_and_dequantizes_exactly) {
  Nvfp4HostLayer layer(2, 32);
  layer.global_scale = 0.375f;
  layer.weight[0] = 0x72;      // k=0: code 2 (1.0), k=1: code 7 (6.0)
  layer.scale(0, 0) = 0x40;    // 2.0
  layer.scale(0, 1) = 0x81;    // −2^-9
  layer.set_code(0, 17, 0xB);  // −1.5, high nibble of byte 8
  EXPECT_EQ(layer.code(0, 0), 2);
  EXPECT_EQ(layer.code(0, 1), 7);
  EXPECT_EQ(layer.weight[8], 0xB0);
  EXPECT_EQ(layer.dequant(0, 0), 1.0 * 2.0 * 0.375);
  EXPECT_EQ(layer.dequant(0, 1), 6.0 * 2.0 * 0.375);
  EXPECT_EQ(layer.dequant(0, 17), -1.5 * -std::ldexp(1.0, -9) * 0.375);
  const std::vector<double> all = layer.dequantized();
  EXPECT_EQ(all[17], layer.dequant(0, 17));
  EXPECT_THROW(Nvfp4HostLayer(4, 40), std::invalid_argument) << "k must be a multiple of 16";
}

TEST(Nvfp4HostLayer, whole_matrix_dequantization_equals_the_per_element_one) {
  MARLIN_JIT_TRACE_SEED();
  for (const Nvfp4HostLayer& layer : {make_adversarial_layer(32, 256, stream_seed(run_seed(), 71)),
                                      make_realistic_layer(32, 256, stream_seed(run_seed(), 72))}) {
    const std::vector<double> all = layer.dequantized();
    for (std::int64_t row = 0; row < layer.n; ++row) {
      for (std::int64_t col = 0; col < layer.k; ++col) {
        ASSERT_EQ(all[static_cast<std::size_t>(row * layer.k + col)], layer.dequant(row, col)) << row << "," << col;
      }
    }
  }
}

TEST(RealisticCheckpoint, quantizes_like_modelopt_within_the_expected_error) {
  MARLIN_JIT_TRACE_SEED();
  const std::int64_t n = 96, k = 512;
  const std::uint64_t seed = stream_seed(run_seed(), 21);
  const std::vector<float> source = random_bf16_weights(n, k, seed);
  const Nvfp4HostLayer layer = quantize_nvfp4_like_modelopt(source, n, k);
  float amax = 0;
  for (float w : source) amax = std::max(amax, std::fabs(w));
  EXPECT_EQ(layer.global_scale, amax / 2688.0f);

  const std::vector<double> dequantized = layer.dequantized();
  double diff_sq = 0, ref_sq = 0;
  bool saw_max_scale = false;
  for (std::int64_t row = 0; row < n; ++row) {
    for (std::int64_t col = 0; col < k; ++col) {
      const double w = source[static_cast<std::size_t>(row * k + col)];
      const double q = dequantized[static_cast<std::size_t>(row * k + col)];
      diff_sq += (q - w) * (q - w);
      ref_sq += w * w;
      // The farthest a value lands is one unit of its block (a gap of 2 between e2m1 4 and 6, halved; or past 6
      // when the scale rounded down by at most 1/16): |q − w| ≤ scale·global.
      const double unit = e4m3fn_to_double(layer.scale(row, col / 16)) * static_cast<double>(layer.global_scale);
      ASSERT_LE(std::fabs(q - w), unit * (1 + 1e-6)) << "row " << row << " col " << col;
      ASSERT_EQ(std::signbit(q) && q != 0, w < 0 && q != 0) << "row " << row << " col " << col;
    }
    for (std::int64_t block = 0; block < k / 16; ++block) {
      ASSERT_FALSE(e4m3fn_is_nan(layer.scale(row, block)));
      ASSERT_LT(layer.scale(row, block), 0x80) << "ModelOpt scales are non-negative";
      saw_max_scale |= layer.scale(row, block) == 0x7E;
    }
  }
  EXPECT_TRUE(saw_max_scale) << "the block holding amax(W) gets scale 448";
  // NVFP4 on Gaussian blocks of 16 lands at 9.4% relative RMS error: a quantizer that does nothing, or one that
  // wastes codes (a wrong scale, a wrong rounding), falls outside this band.
  const double rel = std::sqrt(diff_sq / ref_sq);
  EXPECT_GT(rel, 0.07);
  EXPECT_LT(rel, 0.12);
}

TEST(RealisticCheckpoint, is_a_function_of_its_seed) {
  MARLIN_JIT_TRACE_SEED();
  const std::uint64_t seed = stream_seed(run_seed(), 22);
  const Nvfp4HostLayer a = make_realistic_layer(64, 256, seed), b = make_realistic_layer(64, 256, seed);
  const Nvfp4HostLayer c = make_realistic_layer(64, 256, seed + 1);
  EXPECT_EQ(a.weight, b.weight);
  EXPECT_EQ(a.weight_scale, b.weight_scale);
  EXPECT_EQ(a.global_scale, b.global_scale);
  EXPECT_NE(a.weight, c.weight);
}

TEST(AdversarialCheckpoint, covers_every_edge_code_in_its_regimes) {
  MARLIN_JIT_TRACE_SEED();
  const std::int64_t n = 64, k = 256;
  const Nvfp4HostLayer layer = make_adversarial_layer(n, k, stream_seed(run_seed(), 31));
  EXPECT_EQ(layer.global_scale, 1.0f);
  std::set<unsigned> codes, scales;
  bool all_zero_block_with_zero_scale = false, zero_scale_over_nonzero_codes = false;
  for (std::int64_t row = 0; row < n; ++row) {
    for (std::int64_t block = 0; block < k / 16; ++block) {
      const std::uint8_t scale = layer.scale(row, block);
      ASSERT_FALSE(e4m3fn_is_nan(scale));
      scales.insert(scale);
      bool zero_codes = true;
      for (int i = 0; i < 16; ++i) {
        codes.insert(layer.code(row, block * 16 + i));
        zero_codes &= (layer.code(row, block * 16 + i) & 7) == 0;
      }
      const bool zero_scale = (scale & 0x7F) == 0;
      all_zero_block_with_zero_scale |= zero_scale && zero_codes;
      zero_scale_over_nonzero_codes |= zero_scale && !zero_codes;
      const int regime = static_cast<int>(row % kAdversarialRegimes);
      if (regime == 1) {
        ASSERT_EQ(scale & 0x78, 0) << "subnormal regime, row " << row;
      }
    }
  }
  EXPECT_EQ(codes.size(), 16u) << "every e2m1 code";
  for (unsigned scale : {0x7Eu, 0xFEu, 0x01u, 0x00u, 0x80u}) EXPECT_TRUE(scales.count(scale)) << "scale " << scale;
  EXPECT_TRUE(std::any_of(scales.begin(), scales.end(), [](unsigned s) { return s > 0x80 && (s & 0x78) == 0; }))
      << "a negative subnormal scale";
  EXPECT_TRUE(std::any_of(scales.begin(), scales.end(), [](unsigned s) { return s > 0x80 && (s & 0x78) != 0; }))
      << "a negative normal scale";
  EXPECT_TRUE(all_zero_block_with_zero_scale);
  EXPECT_TRUE(zero_scale_over_nonzero_codes);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(layer.code(0, i), i) << "row 0 block 0 holds codes 0..15";
}

TEST(NanScaleCheckpoint, holds_the_nan_byte_where_asked) {
  MARLIN_JIT_TRACE_SEED();
  const std::uint64_t seed = stream_seed(run_seed(), 41);
  const Nvfp4HostLayer last = make_nan_scale_layer(32, 128, seed, 0x7F, 32 * 8 - 1);
  EXPECT_EQ(last.weight_scale.back(), 0x7F);
  const Nvfp4HostLayer random = make_nan_scale_layer(32, 128, seed, 0xFF);
  EXPECT_EQ(std::count_if(random.weight_scale.begin(), random.weight_scale.end(), e4m3fn_is_nan), 1);
  EXPECT_THROW(make_nan_scale_layer(32, 128, seed, 0x7E), std::invalid_argument);
}

TEST(RandomHalfValues, are_standard_normal_and_never_zero) {
  MARLIN_JIT_TRACE_SEED();
  for (DType dtype : {DType::fp16, DType::bf16}) {
    const std::vector<std::uint16_t> bits = random_half_values(100000, dtype, stream_seed(run_seed(), 51));
    double sum = 0, sum_sq = 0;
    for (std::uint16_t b : bits) {
      ASSERT_NE(b & 0x7FFF, 0) << dtype_name(dtype);
      const double x = half_to_double(b, dtype);
      ASSERT_TRUE(std::isfinite(x));
      sum += x;
      sum_sq += x * x;
    }
    EXPECT_NEAR(sum / 1e5, 0.0, 0.02) << dtype_name(dtype);
    EXPECT_NEAR(std::sqrt(sum_sq / 1e5), 1.0, 0.02) << dtype_name(dtype);
  }
}

// ---- the float64 reference

TEST(ReferenceGemm, matches_a_product_worked_by_hand) {
  // a = [[1, 2], [3, 4], [5, 6]] (m=3, k=2); w = [[1, -1], [0.5, 2]] (n=2); bias = [10, -10].
  const std::vector<double> a = {1, 2, 3, 4, 5, 6}, w = {1, -1, 0.5, 2}, bias = {10, -10};
  EXPECT_EQ(reference_gemm(a, w, {}, 3, 2, 2), (std::vector<double>{-1, 4.5, -1, 9.5, -1, 14.5}));
  EXPECT_EQ(reference_gemm(a, w, bias, 3, 2, 2), (std::vector<double>{9, -5.5, 9, -0.5, 9, 4.5}));
  EXPECT_THROW(reference_gemm(a, w, bias, 3, 2, 3), std::invalid_argument);
}

TEST(ReferenceGemm, agrees_with_the_layers_own_dequantization_on_odd_sizes) {
  MARLIN_JIT_TRACE_SEED();
  const std::int64_t m = 5, n = 7, k = 48;
  const Nvfp4HostLayer layer = make_adversarial_layer(n, k, stream_seed(run_seed(), 61));
  const std::vector<double> a = half_values_to_double(random_half_values(m * k, DType::bf16, 62), DType::bf16);
  const std::vector<double> out = reference_gemm(a, layer.dequantized(), {}, m, n, k);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      double expected = 0;
      for (std::int64_t c = 0; c < k; ++c) expected += a[static_cast<std::size_t>(i * k + c)] * layer.dequant(j, c);
      EXPECT_NEAR(out[static_cast<std::size_t>(i * n + j)], expected, 1e-12 * (1 + std::fabs(expected)));
    }
  }
}

TEST(L2ErrorByColumnClass, splits_columns_by_class_and_flags_non_finite_outputs) {
  const DType dtype = DType::fp16;
  const std::vector<double> ref = {1, 2, 3, 4, 0, 0};  // 2 rows × 3 cols; column 1 class 1, columns 0,2 class 0
  std::vector<std::uint16_t> out(6);
  for (std::size_t i = 0; i < 6; ++i) out[i] = half_from_double(ref[i], dtype);
  out[1] = half_from_double(2.5, dtype);  // column 1 off by 0.5
  auto errors = l2_error_by_column_class(out, dtype, ref, 2, 3, 2);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].rel(), 0.0);
  EXPECT_DOUBLE_EQ(errors[1].rel(), 0.5 / 2.0);
  EXPECT_DOUBLE_EQ(errors[2].rel(), 0.5 / std::sqrt(30.0));
  out[5] = 0x7E00;  // NaN where the reference is 0
  errors = l2_error_by_column_class(out, dtype, ref, 2, 3, 2);
  EXPECT_TRUE(std::isinf(errors[0].rel()));
  EXPECT_EQ(relative_l2_error({1, 2}, {1, 2}), 0.0);
}

}  // namespace
}  // namespace marlin_jit::test
