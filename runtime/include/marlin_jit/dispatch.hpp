// The dispatcher's rules: what marlin-jit refuses before any compile, lock or launch. Each check throws ConfigError
// whose rule() names the rule (sm_range, quant_group_size, quant_dtype, shape_positive, shape_range,
// k_multiple_of_group, quant_kernel_available, moe_activation, moe_experts, moe_topk, moe_slots_range) and whose
// what() names the offending value. Pure functions, thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "marlin_jit/types.hpp"
#include "marlin_jit/export.h"

MARLIN_JIT_API_BEGIN
namespace marlin_jit {

inline constexpr int kMinSm = 80;             // Marlin needs Ampere's mma.sync / cp.async
inline constexpr int kMaxSmExclusive = 100;   // SM100+ has native FP4 and takes other paths
inline constexpr std::array<int, 5> kSupportedSms = {80, 86, 87, 89, 90};
inline constexpr int kPerChannelGroup = -1;
inline constexpr int kNvfp4GroupSize = 16;
inline constexpr int kMxfp4GroupSize = 32;
inline constexpr std::int64_t kKGranularity = 64;  // K is padded to this at preparation (any multiple of the group)
inline constexpr std::int64_t kNGranularity = 64;  // N is padded to this at preparation; any N is accepted
inline constexpr std::int64_t kMaxDimension = (std::int64_t{1} << 31) - 1;  // kernels index with 32-bit ints
inline constexpr std::int64_t kMaxExperts = 1024;  // the token alignment kernel scans experts in one block
inline constexpr std::int64_t kMaxTopk = 64;

struct ProblemSpec {
  KernelKind kind = KernelKind::dense;
  QuantType quant = QuantType::nvfp4;
  int group_size = 16;
  DType dtype = DType::bf16;
  int sm = 90;
  std::optional<std::int64_t> m, n, k;  // unset: not checked
  // kind moe: the layer's sizes (n and k are not used; each of hidden and intermediate is some GEMM's K).
  Activation activation = Activation::silu_gated;
  std::optional<std::int64_t> hidden, intermediate, experts, topk;
};

// Rule sm_range: sm in {80, 86, 87, 89, 90}. SM75 and older, and SM100 and newer, are refused with the reason.
void check_sm(int sm);
bool is_supported_sm(int sm) noexcept;

// Rule quant_group_size: nvfp4 {16}; mxfp4 {32}; uint4b8, uint4, uint8b128 {-1, 32, 64, 128}.
void check_quant_group(QuantType quant, int group_size);
std::vector<int> allowed_group_sizes(QuantType quant);

// Rule quant_dtype: fp16 or bf16; mxfp4 bf16 only.
void check_dtype(QuantType quant, DType dtype);

// Rules shape_positive (m, n, k >= 1), shape_range (<= kMaxDimension), k_multiple_of_group (unless per channel).
// K needs no other multiple: it is padded to kKGranularity at preparation with zero codes.
void check_shape(const ProblemSpec& problem);

// Kind moe: moe_activation (silu_gated or relu2), moe_experts (1..kMaxExperts), moe_topk (1..min(experts,
// kMaxTopk)), hidden and intermediate as K sizes (check_shape's rules), moe_slots_range (m·topk <= kMaxDimension).
void check_moe(const ProblemSpec& problem);

// Every rule above that applies to the kind, then quant_kernel_available: only NVFP4 kernels are built so far.
void check_supported(const ProblemSpec& problem);

}  // namespace marlin_jit
MARLIN_JIT_API_END
