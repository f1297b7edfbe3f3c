// The CPU references of tests/support/moe_reference.hpp: the token alignment against the moe_align contract (every
// routing of tiny spaces, random large ones, golden cases, and a checker shown to catch each kind of damage), and the
// MoE layer reference against a plain per-token evaluation of nvfp4_moe.hpp's formula.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "test_seed.hpp"
#include "moe_reference.hpp"
#include "nvfp4_checkpoint.hpp"
#include "ops/moe_plan.hpp"

namespace marlin_jit::test {
namespace {

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += "\n  " + line;
  return out;
}

// The reference for a routing with max_blocks from the library's worst case, checked against the contract.
// Returns the number of violations (each reported as a failure).
std::size_t align_and_check(const std::vector<std::int32_t>& ids, std::int64_t experts, int block_rows,
                            const std::string& what) {
  const auto slots = static_cast<std::int64_t>(ids.size());
  const std::int64_t max_blocks = ops::worst_case_blocks(slots, experts, block_rows);
  const MoeAlignment a = moe_align_reference(ids, slots, experts, block_rows, max_blocks);
  const std::vector<std::string> violations = alignment_violations(ids, slots, experts, block_rows, max_blocks, a);
  EXPECT_TRUE(violations.empty()) << what << joined(violations);
  MoeAlignment canonical = a;
  canonicalise_alignment(canonical, block_rows);
  EXPECT_EQ(canonical, a) << what << ": the reference is not in canonical form";
  return violations.size();
}

TEST(MoeAlignReference, every_routing_of_tiny_spaces_meets_the_contract) {
  // Ids run over -1, 0 .. E-1 and E, so invalid ids on both sides are in every space.
  std::int64_t routings = 0;
  for (std::int64_t experts = 1; experts <= 3; ++experts) {
    for (std::int64_t slots = 1; slots <= 6; ++slots) {
      const std::int64_t values = experts + 2;
      std::int64_t total = 1;
      for (std::int64_t s = 0; s < slots; ++s) total *= values;
      for (std::int64_t index = 0; index < total; ++index) {
        std::vector<std::int32_t> ids(static_cast<std::size_t>(slots));
        for (std::int64_t s = 0, rest = index; s < slots; ++s, rest /= values) {
          ids[static_cast<std::size_t>(s)] = static_cast<std::int32_t>(rest % values - 1);
        }
        for (int block_rows : {1, 2, 3, 16}) {
          const std::string what = "E=" + std::to_string(experts) + " routing " + std::to_string(index) + " of " +
                                   std::to_string(slots) + " slots, block " + std::to_string(block_rows);
          ASSERT_EQ(align_and_check(ids, experts, block_rows, what), 0u);
          ++routings;
        }
      }
    }
  }
  EXPECT_GT(routings, 80000);
}

// Random routings of size M·topk: uniform, skewed, idle experts, one expert, and invalid ids of every kind.
std::vector<std::int32_t> random_ids(std::int64_t m, int topk, std::int64_t experts, int flavour, TestRng& rng) {
  if (flavour < 5) {
    const RoutingKind kinds[] = {RoutingKind::uniform, RoutingKind::skewed, RoutingKind::idle_experts,
                                 RoutingKind::one_expert, RoutingKind::with_invalid};
    return make_routing(m, topk, experts, kinds[flavour], rng.next()).ids;
  }
  // Ids drawn with repeats, a third out of range: negative, E, far above, and the int32 extremes.
  const std::int32_t e = static_cast<std::int32_t>(experts);
  const std::int32_t bad[] = {
      -1, e, e + 1, -e, std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max()};
  std::vector<std::int32_t> ids(static_cast<std::size_t>(m * topk));
  for (auto& id : ids) {
    id = rng.chance(1.0 / 3) ? bad[rng.below(6)] : static_cast<std::int32_t>(rng.below(static_cast<unsigned>(e)));
  }
  return ids;
}

TEST(MoeAlignReference, random_large_routings_meet_the_contract) {
  const std::uint64_t seed = run_seed();
  SCOPED_TRACE("MARLIN_JIT_TEST_SEED=" + std::to_string(seed));
  TestRng rng(seed);
  const struct {
    std::int64_t m;
    int topk;
    std::int64_t experts;
  } shapes[] = {{1, 1, 1},      {4096, 1, 1},  {3000, 2, 8},    {2048, 8, 8},  {777, 6, 128},
                {512, 22, 512}, {64, 32, 512}, {4096, 8, 1024}, {1, 32, 1024}, {33, 4, 7}};
  for (const auto& shape : shapes) {
    for (int flavour = 0; flavour < 6; ++flavour) {
      for (int block_rows : {16, 32, 48, 64}) {
        const std::vector<std::int32_t> ids = random_ids(shape.m, shape.topk, shape.experts, flavour, rng);
        const std::string what = "M=" + std::to_string(shape.m) + " topk=" + std::to_string(shape.topk) +
                                 " E=" + std::to_string(shape.experts) + " flavour " + std::to_string(flavour) +
                                 " block " + std::to_string(block_rows);
        ASSERT_EQ(align_and_check(ids, shape.experts, block_rows, what), 0u);
      }
    }
  }
}

TEST(MoeAlignReference, golden_small_routing) {
  // E = 3, block 2: expert 0 gets slots 2, 5; expert 1 none; expert 2 gets 0, 3, 6; ids -1 and 3 are invalid.
  const std::vector<std::int32_t> ids = {2, -1, 0, 2, 3, 0, 2};
  const MoeAlignment a = moe_align_reference(ids, 7, 3, 2, 6);
  EXPECT_EQ(a.sorted_rows, (std::vector<std::int32_t>{2, 5, 0, 3, 6, 7, 7, 7, 7, 7, 7, 7}));
  EXPECT_EQ(a.block_experts, (std::vector<std::int32_t>{0, 2, 2, -1, -1, -1}));
  EXPECT_EQ(a.padded_total, 6);
  EXPECT_EQ(a.invalid, 2u);
}

TEST(MoeAlignReference, all_slots_on_one_expert_make_one_run) {
  for (std::int64_t slots : {1, 15, 16, 17, 4096, 4097}) {
    const std::vector<std::int32_t> ids(static_cast<std::size_t>(slots), 5);
    const MoeAlignment a = moe_align_reference(ids, slots, 8, 16, ops::worst_case_blocks(slots, 8, 16));
    EXPECT_EQ(a.padded_total, (slots + 15) / 16 * 16) << slots;
    const auto blocks = static_cast<std::size_t>(a.padded_total / 16);
    EXPECT_TRUE(std::all_of(a.block_experts.begin(), a.block_experts.begin() + static_cast<std::ptrdiff_t>(blocks),
                            [](std::int32_t e) { return e == 5; }))
        << slots;
    EXPECT_EQ(align_and_check(ids, 8, 16, "one expert, " + std::to_string(slots) + " slots"), 0u);
  }
}

TEST(MoeAlignReference, one_slot_per_expert_reaches_the_library_worst_case) {
  // Each touched expert with a single slot pads to a whole block: the worst case the plan sizes buffers for.
  for (std::int64_t experts : {1, 8, 128, 512}) {
    for (int block_rows : {16, 64}) {
      for (std::int64_t slots : {std::int64_t{1}, experts}) {
        std::vector<std::int32_t> ids(static_cast<std::size_t>(slots));
        for (std::int64_t s = 0; s < slots; ++s) ids[static_cast<std::size_t>(s)] = static_cast<std::int32_t>(s);
        const std::int64_t max_blocks = ops::worst_case_blocks(slots, experts, block_rows);
        const MoeAlignment a = moe_align_reference(ids, slots, experts, block_rows, max_blocks);
        EXPECT_EQ(a.padded_total, max_blocks * block_rows) << experts << " experts, " << slots << " slots";
      }
    }
  }
}

TEST(MoeAlignReference, refuses_a_buffer_too_small_for_the_runs) {
  const std::vector<std::int32_t> ids = {0, 1, 2};
  EXPECT_THROW(moe_align_reference(ids, 3, 3, 16, 2), std::invalid_argument);
  EXPECT_NO_THROW(moe_align_reference(ids, 3, 3, 16, 3));
}

// The checker must see each kind of damage, or the tests above could pass on a broken reference.
TEST(MoeAlignReference, the_contract_check_catches_every_kind_of_damage) {
  const std::vector<std::int32_t> ids = {3, 0, 3, -1, 1, 3, 0, 9, 3};  // E = 4, block 2; slots 3 and 7 invalid
  const std::int64_t slots = 9, experts = 4, max_blocks = 7;
  const int block_rows = 2;
  const MoeAlignment good = moe_align_reference(ids, slots, experts, block_rows, max_blocks);
  ASSERT_TRUE(alignment_violations(ids, slots, experts, block_rows, max_blocks, good).empty());
  // good: rows [1 6 | 4 s | 0 2 | 5 8 | s s | s s | s s], blocks [0 1 3 3 -1 -1 -1], total 8, invalid 2.
  const std::vector<std::pair<const char*, std::function<void(MoeAlignment&)>>> damage = {
      {"a slot dropped", [](MoeAlignment& a) { a.sorted_rows[0] = 9; }},
      {"a slot twice", [](MoeAlignment& a) { a.sorted_rows[3] = 4; }},
      {"a slot in another expert's run", [](MoeAlignment& a) { std::swap(a.sorted_rows[0], a.sorted_rows[2]); }},
      {"an invalid slot placed", [](MoeAlignment& a) { a.sorted_rows[3] = 3; }},
      {"a slot past the total",
       [](MoeAlignment& a) {
         a.sorted_rows[9] = 6;
         a.sorted_rows[1] = 9;
       }},
      {"junk for a sentinel", [](MoeAlignment& a) { a.sorted_rows[12] = 10; }},
      {"a negative row", [](MoeAlignment& a) { a.sorted_rows[3] = -1; }},
      {"a wasted block",
       [](MoeAlignment& a) {
         a.block_experts[4] = 3;
         a.padded_total = 10;
       }},
      {"a block past the total", [](MoeAlignment& a) { a.block_experts[5] = 2; }},
      {"runs out of order", [](MoeAlignment& a) { std::swap(a.block_experts[0], a.block_experts[1]); }},
      {"a total off the block grid", [](MoeAlignment& a) { a.padded_total = 7; }},
      {"a total past the buffer", [](MoeAlignment& a) { a.padded_total = 16; }},
      {"the invalid count", [](MoeAlignment& a) { a.invalid = 1; }},
      {"a short buffer", [](MoeAlignment& a) { a.sorted_rows.pop_back(); }},
  };
  for (const auto& [what, apply] : damage) {
    MoeAlignment bad = good;
    apply(bad);
    EXPECT_FALSE(alignment_violations(ids, slots, experts, block_rows, max_blocks, bad).empty()) << what;
  }
}

TEST(MoeAlignReference, canonical_form_ignores_order_inside_runs_only) {
  const std::vector<std::int32_t> ids = {1, 1, 0, 1, 0, 1, 1};
  const MoeAlignment reference = moe_align_reference(ids, 7, 2, 2, 5);
  MoeAlignment shuffled = reference;  // runs: expert 0 rows [0, 2), expert 1 rows [2, 8)
  std::reverse(shuffled.sorted_rows.begin() + 2, shuffled.sorted_rows.begin() + 8);
  std::swap(shuffled.sorted_rows[0], shuffled.sorted_rows[1]);
  ASSERT_NE(shuffled, reference);
  canonicalise_alignment(shuffled, 2);
  EXPECT_EQ(shuffled, reference);
  MoeAlignment moved = reference;
  std::swap(moved.sorted_rows[0], moved.sorted_rows[2]);  // a slot of expert 0 into expert 1's run
  canonicalise_alignment(moved, 2);
  EXPECT_NE(moved, reference);
}

// ---- the MoE layer reference

// nvfp4_moe.hpp's formula evaluated token by token from Nvfp4HostLayer::dequant, optionally rounding where the
// emulation says a dtype pipeline must.
std::vector<double> plain_moe(const MoeHostLayer& layer, bool bias, const std::vector<double>& x,
                              const MoeRouting& routing, std::optional<DType> dtype) {
  const auto round = [&](double v) { return dtype ? half_to_double(half_from_double(v, *dtype), *dtype) : v; };
  const std::int64_t H = layer.hidden, I = layer.intermediate;
  std::vector<double> out(static_cast<std::size_t>(routing.m * H), 0.0);
  for (std::int64_t t = 0; t < routing.m; ++t) {
    std::vector<double> sum(static_cast<std::size_t>(H), 0.0);
    for (int j = 0; j < routing.topk; ++j) {
      const std::int32_t e = routing.ids[static_cast<std::size_t>(t * routing.topk + j)];
      if (e < 0 || e >= layer.experts) continue;
      const Nvfp4HostLayer& w1 = layer.w1[static_cast<std::size_t>(e)];
      const Nvfp4HostLayer& w2 = layer.w2[static_cast<std::size_t>(e)];
      const auto row_of_w1 = [&](std::int64_t row) {
        double acc = bias ? layer.w1_bias[static_cast<std::size_t>(e * layer.w1_rows() + row)] : 0.0;
        for (std::int64_t h = 0; h < H; ++h) acc += round(w1.dequant(row, h)) * x[static_cast<std::size_t>(t * H + h)];
        return acc;
      };
      std::vector<double> inner(static_cast<std::size_t>(I));
      for (std::int64_t i = 0; i < I; ++i) {
        const double a = row_of_w1(i);
        const double relu = std::max(a, 0.0);
        inner[static_cast<std::size_t>(i)] =
            round(layer.gated() ? a / (1 + std::exp(-a)) * row_of_w1(I + i) : relu * relu);
      }
      for (std::int64_t h = 0; h < H; ++h) {
        double acc = bias ? layer.w2_bias[static_cast<std::size_t>(e * H + h)] : 0.0;
        for (std::int64_t i = 0; i < I; ++i) acc += round(w2.dequant(h, i)) * inner[static_cast<std::size_t>(i)];
        sum[static_cast<std::size_t>(h)] +=
            round(routing.weights[static_cast<std::size_t>(t * routing.topk + j)] * acc);
      }
    }
    for (std::int64_t h = 0; h < H; ++h)
      out[static_cast<std::size_t>(t * H + h)] = round(sum[static_cast<std::size_t>(h)]);
  }
  return out;
}

class MoeLayerReference : public ::testing::TestWithParam<std::tuple<Activation, bool>> {};

TEST_P(MoeLayerReference, matches_a_plain_evaluation_of_the_formula) {
  const auto [activation, bias] = GetParam();
  const std::uint64_t seed = run_seed();
  SCOPED_TRACE("MARLIN_JIT_TEST_SEED=" + std::to_string(seed));
  const MoeHostLayer layer = make_moe_layer(5, 48, 32, activation, bias, stream_seed(seed, 1));
  const MoeRouting routing = make_routing(9, 3, 5, RoutingKind::with_invalid, stream_seed(seed, 2));
  const std::vector<double> x = moe_activations(9, 48, stream_seed(seed, 3));
  const std::vector<double> exact = moe_reference(layer, bias, x, routing);
  const std::vector<double> plain = plain_moe(layer, bias, x, routing, std::nullopt);
  double norm = 0;
  for (double v : plain) norm = std::max(norm, std::fabs(v));
  ASSERT_GT(norm, 0.0);
  for (std::size_t i = 0; i < plain.size(); ++i) {
    ASSERT_NEAR(exact[i], plain[i], 1e-12 * norm) << "float64, element " << i;
  }
  for (DType dtype : {DType::fp16, DType::bf16}) {
    const std::vector<double> emulated = moe_reference(layer, bias, x, routing, dtype);
    const std::vector<double> plain_emulated = plain_moe(layer, bias, x, routing, dtype);
    double diff = 0, error = 0;
    for (std::size_t i = 0; i < plain.size(); ++i) {
      EXPECT_EQ(half_to_double(half_from_double(emulated[i], dtype), dtype), emulated[i]) << "not a dtype value";
      // Summation order may move a value across a rounding boundary: about one ulp of the dtype (bf16: 2^-7
      // relative) where that happens, plus what an intermediate value's flip carries into a small output.
      EXPECT_LE(std::fabs(emulated[i] - plain_emulated[i]),
                std::ldexp(std::fabs(plain_emulated[i]), -7) + std::ldexp(norm, -10))
          << dtype_name(dtype) << " element " << i;
      diff += (emulated[i] - plain_emulated[i]) * (emulated[i] - plain_emulated[i]);
      error += (emulated[i] - exact[i]) * (emulated[i] - exact[i]);
    }
    EXPECT_GT(error, 0.0) << dtype_name(dtype) << ": the emulation rounds nothing";
    EXPECT_LE(diff, 0.01 * error) << dtype_name(dtype) << ": the emulation differs from the plain evaluation";
  }
}

TEST(MoeLayerReference, tokens_whose_ids_are_all_invalid_give_zero) {
  const MoeHostLayer layer = make_moe_layer(2, 32, 16, Activation::relu2, true, 7);
  MoeRouting routing = make_routing(3, 2, 2, RoutingKind::uniform, 8);
  routing.ids[2] = -1;
  routing.ids[3] = 2;  // token 1: both out of range
  const std::vector<double> out = moe_reference(layer, true, moe_activations(3, 32, 9), routing);
  for (std::int64_t h = 0; h < 32; ++h) EXPECT_EQ(out[static_cast<std::size_t>(32 + h)], 0.0) << h;
  EXPECT_NE(out[0], 0.0);
}

INSTANTIATE_TEST_SUITE_P(Layers, MoeLayerReference,
                         ::testing::Combine(::testing::Values(Activation::silu_gated, Activation::relu2),
                                            ::testing::Bool()),
                         [](const ::testing::TestParamInfo<std::tuple<Activation, bool>>& param_info) {
                           return to_string(std::get<0>(param_info.param)) +
                                  (std::get<1>(param_info.param) ? "_bias" : "_no_bias");
                         });

}  // namespace
}  // namespace marlin_jit::test
