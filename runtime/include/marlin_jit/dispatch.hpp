// The dispatcher's rules: what marlin-jit refuses before any compile, lock or launch. Each check throws ConfigError
// whose rule() names the rule (sm_range, quant_group_size, quant_dtype, shape_positive, k_multiple_of_group,
// k_multiple_of_tile, quant_kernel_available) and whose what() names the offending value. Pure functions, thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "marlin_jit/types.hpp"

namespace marlin_jit {

inline constexpr int kMinSm = 80;             // Marlin needs Ampere's mma.sync / cp.async
inline constexpr int kMaxSmExclusive = 100;   // SM100+ has native FP4 and takes other paths
inline constexpr std::array<int, 5> kSupportedSms = {80, 86, 87, 89, 90};
inline constexpr int kPerChannelGroup = -1;
inline constexpr int kNvfp4GroupSize = 16;
inline constexpr int kMxfp4GroupSize = 32;
inline constexpr std::int64_t kMinTileK = 64;      // the smallest K tile: K must be a multiple of it
inline constexpr std::int64_t kNGranularity = 64;  // N is padded to this at preparation; any N is accepted

struct ProblemSpec {
  KernelKind kind = KernelKind::dense;
  QuantType quant = QuantType::nvfp4;
  int group_size = 16;
  DType dtype = DType::bf16;
  int sm = 90;
  std::optional<std::int64_t> m, n, k;  // unset: not checked
};

// Rule sm_range: sm in {80, 86, 87, 89, 90}. SM75 and older, and SM100 and newer, are refused with the reason.
void check_sm(int sm);
bool is_supported_sm(int sm) noexcept;

// Rule quant_group_size: nvfp4 {16}; mxfp4 {32}; uint4b8, uint4, uint8b128 {-1, 32, 64, 128}.
void check_quant_group(QuantType quant, int group_size);
std::vector<int> allowed_group_sizes(QuantType quant);

// Rule quant_dtype: fp16 or bf16; mxfp4 bf16 only.
void check_dtype(QuantType quant, DType dtype);

// Rules shape_positive (m, n, k >= 1), k_multiple_of_group (unless per channel), k_multiple_of_tile (kMinTileK).
void check_shape(const ProblemSpec& problem);

// Every rule above, then quant_kernel_available: only NVFP4 kernels are built so far.
void check_supported(const ProblemSpec& problem);

}  // namespace marlin_jit
