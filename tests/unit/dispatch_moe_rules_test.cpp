// Tests for runtime/src/dispatch/moe_rules.cpp: the MoE layer rules (activation, experts, topk, sizes as K sizes,
// slot count), each refusal naming its rule and value, and check_supported routing kind moe through them.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit {
namespace {

ProblemSpec nemotron_like() {
  ProblemSpec problem;
  problem.kind = KernelKind::moe;
  problem.activation = Activation::relu2;
  problem.experts = 128;
  problem.topk = 6;
  problem.hidden = 2688;
  problem.intermediate = 464;
  problem.m = 1;
  return problem;
}

std::string rule_of(const ProblemSpec& problem) {
  try {
    check_supported(problem);
  } catch (const ConfigError& error) {
    return error.rule();
  }
  return "accepted";
}

std::string rule_after(const std::function<void(ProblemSpec&)>& change) {
  ProblemSpec problem = nemotron_like();
  change(problem);
  return rule_of(problem);
}

TEST(MoeRules, RealLayersAreAccepted) {
  EXPECT_EQ(rule_of(nemotron_like()), "accepted");
  EXPECT_EQ(rule_after([](ProblemSpec& p) {
              p.activation = Activation::silu_gated;
              p.hidden = 4096;
              p.intermediate = 1536;
              p.topk = 8;
              p.m = 4096;
            }),
            "accepted");
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.experts = 512, p.topk = 22; }), "accepted");
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.hidden = 208, p.intermediate = 80; }), "accepted");  // odd × 16
}

TEST(MoeRules, ActivationMustBeAnExpertActivation) {
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.activation = Activation::none; }), "moe_activation");
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.activation = static_cast<Activation>(7); }), "moe_activation");
}

TEST(MoeRules, ExpertsAndTopkAreBounded) {
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.experts = 0; }), "moe_experts");
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.experts = kMaxExperts + 1; }), "moe_experts");
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.experts = kMaxExperts, p.topk = 8; }), "accepted");
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.topk = 0; }), "moe_topk");
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.experts = 4, p.topk = 5; }), "moe_topk");
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.experts = 4, p.topk = 4; }), "accepted");
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.topk = kMaxTopk + 1; }), "moe_topk");
}

TEST(MoeRules, HiddenAndIntermediateAreReductionSizes) {
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.intermediate = 1850; }), "k_multiple_of_group");
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.hidden = 40; }), "k_multiple_of_group");
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.hidden = 0; }), "shape_positive");
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.intermediate = std::int64_t{1} << 33; }), "shape_range");
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.m = 0; }), "shape_positive");
}

TEST(MoeRules, SlotsMustFit32Bits) {
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.m = (std::int64_t{1} << 31) / 6 + 1; }), "moe_slots_range");
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.m = (std::int64_t{1} << 31) / 6 - 1; }), "accepted");
}

TEST(MoeRules, SmAndGroupRulesComeFirst) {
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.sm = 100, p.experts = 0; }), "sm_range");
  EXPECT_EQ(rule_after([](ProblemSpec& p) { p.group_size = 32, p.experts = 0; }), "quant_group_size");
}

TEST(MoeRules, MessagesNameTheValue) {
  ProblemSpec problem = nemotron_like();
  problem.experts = 8;
  problem.topk = 9;
  try {
    check_supported(problem);
    FAIL() << "topk 9 of 8 experts accepted";
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.value(), "9");
    EXPECT_EQ(error.allowed(), "1 .. 8");
    EXPECT_NE(std::string(error.what()).find("topk 9"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace marlin_jit
