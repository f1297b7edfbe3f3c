// Tests for runtime/src/dispatch/sm_range.cpp: both edges of 8.0 <= cc < 10.0, and the reason in each message.
#include <gtest/gtest.h>

#include <string>

#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit {
namespace {

std::string refusal(int sm) {
  try {
    check_sm(sm);
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.rule(), "sm_range");
    EXPECT_EQ(error.value(), "sm_" + std::to_string(sm));
    return error.what();
  }
  return "";
}

TEST(SmRange, AcceptsEverySupportedArchitecture) {
  for (int sm : {80, 86, 87, 89, 90}) {
    EXPECT_NO_THROW(check_sm(sm)) << sm;
    EXPECT_TRUE(is_supported_sm(sm)) << sm;
  }
}

TEST(SmRange, RefusesTuringAndOlderSayingWhy) {
  for (int sm : {75, 70, 61}) {
    std::string message = refusal(sm);
    EXPECT_NE(message.find("sm_" + std::to_string(sm) + " not supported"), std::string::npos) << message;
    EXPECT_NE(message.find("need SM80 (Ampere) or newer"), std::string::npos) << message;
    EXPECT_NE(message.find("(rule sm_range)"), std::string::npos) << message;
  }
}

TEST(SmRange, RefusesBlackwellAndNewerAsNativeFp4) {
  for (int sm : {100, 103, 110, 120, 121}) {
    std::string message = refusal(sm);
    EXPECT_NE(message.find("native FP4"), std::string::npos) << message;
    EXPECT_FALSE(is_supported_sm(sm)) << sm;
  }
}

TEST(SmRange, RefusesGapsInsideTheRange) {
  for (int sm : {81, 85, 88, 91, 99}) {
    std::string message = refusal(sm);
    EXPECT_NE(message.find("allowed sm_80, sm_86, sm_87, sm_89, sm_90"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace marlin_jit
