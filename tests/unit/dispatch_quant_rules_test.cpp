// Tests for runtime/src/dispatch/quant_rules.cpp: the group-size table (16 for NVFP4 and nothing else), the dtype
// rule (MXFP4 bf16 only), and check_supported refusing quant types without kernels after their rules pass.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit {
namespace {

constexpr QuantType kAllQuants[] = {QuantType::nvfp4, QuantType::mxfp4, QuantType::uint4b8, QuantType::uint4,
                                    QuantType::uint8b128};

std::string rule_of(const std::function<void()>& check) {
  try {
    check();
  } catch (const ConfigError& error) {
    return error.rule();
  }
  return "accepted";
}

TEST(QuantRules, GroupSixteenOnlyForNvfp4) {
  for (QuantType quant : kAllQuants) {
    std::string expected = quant == QuantType::nvfp4 ? "accepted" : "quant_group_size";
    EXPECT_EQ(rule_of([&] { check_quant_group(quant, 16); }), expected) << to_string(quant);
  }
}

TEST(QuantRules, EachQuantTypeAcceptsExactlyItsTable) {
  const int candidates[] = {-1, 0, 8, 16, 32, 64, 128, 256};
  for (QuantType quant : kAllQuants) {
    std::vector<int> allowed = allowed_group_sizes(quant);
    for (int group : candidates) {
      bool in_table = std::find(allowed.begin(), allowed.end(), group) != allowed.end();
      EXPECT_EQ(rule_of([&] { check_quant_group(quant, group); }), in_table ? "accepted" : "quant_group_size")
          << to_string(quant) << " g" << group;
    }
  }
  EXPECT_EQ(allowed_group_sizes(QuantType::nvfp4), std::vector<int>{16});
  EXPECT_EQ(allowed_group_sizes(QuantType::mxfp4), std::vector<int>{32});
  EXPECT_EQ(allowed_group_sizes(QuantType::uint4b8), (std::vector<int>{-1, 32, 64, 128}));
}

TEST(QuantRules, GroupMessageNamesValueAndAllowed) {
  try {
    check_quant_group(QuantType::nvfp4, 32);
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_STREQ(error.what(), "group_size 32 not allowed for nvfp4: allowed 16 (rule quant_group_size)");
    EXPECT_EQ(error.value(), "32");
    EXPECT_EQ(error.allowed(), "16");
  }
}

TEST(QuantRules, DtypeRule) {
  for (QuantType quant : kAllQuants) {
    EXPECT_EQ(rule_of([&] { check_dtype(quant, DType::bf16); }), "accepted");
    EXPECT_EQ(rule_of([&] { check_dtype(quant, DType::fp16); }),
              quant == QuantType::mxfp4 ? "quant_dtype" : "accepted");
  }
}

TEST(QuantRules, CheckSupportedRefusesQuantTypesWithoutKernels) {
  ProblemSpec problem;
  EXPECT_EQ(rule_of([&] { check_supported(problem); }), "accepted");
  problem.quant = QuantType::uint4b8;
  problem.group_size = 128;
  try {
    check_supported(problem);
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.rule(), "quant_kernel_available");
    EXPECT_NE(std::string(error.what()).find("uint4b8 kernels are not built yet"), std::string::npos);
  }
  problem.group_size = 16;  // its own rules refuse first
  EXPECT_EQ(rule_of([&] { check_supported(problem); }), "quant_group_size");
}

TEST(QuantRules, CheckSupportedAppliesRulesInOrder) {
  ProblemSpec problem;
  problem.sm = 75;
  problem.group_size = 32;
  EXPECT_EQ(rule_of([&] { check_supported(problem); }), "sm_range");
  problem.sm = 90;
  EXPECT_EQ(rule_of([&] { check_supported(problem); }), "quant_group_size");
  problem.quant = QuantType::mxfp4;
  problem.dtype = DType::fp16;
  EXPECT_EQ(rule_of([&] { check_supported(problem); }), "quant_dtype");
  problem.dtype = DType::bf16;
  problem.k = 48;
  EXPECT_EQ(rule_of([&] { check_supported(problem); }), "k_multiple_of_group");
}

}  // namespace
}  // namespace marlin_jit
