// Tests for runtime/src/dispatch/shape_rules.cpp: positive sizes that fit 32 bits, K against the group size only
// (it is padded to 64 at preparation), and no rule on N.
#include <gtest/gtest.h>

#include <string>

#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit {
namespace {

std::string rule_for(std::optional<std::int64_t> m, std::optional<std::int64_t> n, std::optional<std::int64_t> k,
                     int group = 16) {
  ProblemSpec problem;
  problem.m = m;
  problem.n = n;
  problem.k = k;
  problem.group_size = group;
  try {
    check_shape(problem);
  } catch (const ConfigError& error) {
    return error.rule();
  }
  return "accepted";
}

TEST(ShapeRules, SizesMustBePositive) {
  EXPECT_EQ(rule_for(0, 64, 64), "shape_positive");
  EXPECT_EQ(rule_for(1, -5, 64), "shape_positive");
  EXPECT_EQ(rule_for(1, 64, 0), "shape_positive");
  EXPECT_EQ(rule_for(1, 1, 64), "accepted");
  EXPECT_EQ(rule_for(std::nullopt, std::nullopt, std::nullopt), "accepted");
}

TEST(ShapeRules, KMustBeAMultipleOfTheGroupOnly) {
  EXPECT_EQ(rule_for(1, 64, 64), "accepted");
  EXPECT_EQ(rule_for(1, 64, 4096), "accepted");
  EXPECT_EQ(rule_for(1, 64, 40), "k_multiple_of_group");
  EXPECT_EQ(rule_for(1, 64, 48), "accepted");   // padded to 64 at preparation
  EXPECT_EQ(rule_for(1, 64, 464), "accepted");  // Nemotron's I = 1856 sharded four ways
  EXPECT_EQ(rule_for(1, 64, 192, 128), "k_multiple_of_group");
  EXPECT_EQ(rule_for(1, 64, 256, 128), "accepted");
  EXPECT_EQ(rule_for(1, 64, 96, -1), "accepted");  // per channel: no group
  EXPECT_EQ(rule_for(1, 64, 8, -1), "accepted");
}

TEST(ShapeRules, SizesMustFit32Bits) {
  EXPECT_EQ(rule_for(std::int64_t{1} << 31, 64, 64), "shape_range");
  EXPECT_EQ(rule_for(1, std::int64_t{1} << 40, 64), "shape_range");
  EXPECT_EQ(rule_for(1, 64, std::int64_t{1} << 35), "shape_range");
  EXPECT_EQ(rule_for((std::int64_t{1} << 31) - 1, 64, 64), "accepted");
}

TEST(ShapeRules, AnyNIsAccepted) {
  for (std::int64_t n : {1, 7, 63, 65, 100, 4097}) EXPECT_EQ(rule_for(3, n, 128), "accepted") << n;
}

TEST(ShapeRules, MessagesNameTheValue) {
  ProblemSpec problem;
  problem.k = 100;
  try {
    check_shape(problem);
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.value(), "k=100");
    EXPECT_NE(std::string(error.what()).find("k 100 not allowed"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("multiple of the group size"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace marlin_jit
