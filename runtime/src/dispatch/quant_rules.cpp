// Rules quant_group_size, quant_dtype and quant_kernel_available: the table of quant types, the group sizes and
// activation dtypes each allows (group 16 for NVFP4 only), and which ones have kernels. Every such refusal is here.
#include <algorithm>
#include <string>

#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit {
namespace {

std::string join(const std::vector<int>& values) {
  std::string text;
  for (int value : values) {
    if (!text.empty()) text += ", ";
    text += value == kPerChannelGroup ? "-1 (per channel)" : std::to_string(value);
  }
  return text;
}

}  // namespace

std::vector<int> allowed_group_sizes(QuantType quant) {
  switch (quant) {
    case QuantType::nvfp4: return {kNvfp4GroupSize};
    case QuantType::mxfp4: return {kMxfp4GroupSize};
    case QuantType::uint4b8:
    case QuantType::uint4:
    case QuantType::uint8b128: return {kPerChannelGroup, 32, 64, 128};
  }
  return {};
}

void check_quant_group(QuantType quant, int group_size) {
  std::vector<int> allowed = allowed_group_sizes(quant);
  if (std::find(allowed.begin(), allowed.end(), group_size) != allowed.end()) return;
  throw ConfigError("quant_group_size", std::to_string(group_size), join(allowed),
                    "group_size " + std::to_string(group_size) + " not allowed for " + to_string(quant) + ": allowed " +
                        join(allowed));
}

void check_dtype(QuantType quant, DType dtype) {
  if (dtype != DType::fp16 && dtype != DType::bf16) {
    throw ConfigError("quant_dtype", std::to_string(static_cast<int>(dtype)), "fp16, bf16",
                      "activation dtype " + std::to_string(static_cast<int>(dtype)) + " is neither fp16 nor bf16");
  }
  if (quant != QuantType::mxfp4 || dtype == DType::bf16) return;
  throw ConfigError("quant_dtype", to_string(dtype), "bf16",
                    "dtype " + to_string(dtype) + " not allowed for " + to_string(quant) + ": allowed bf16");
}

void check_supported(const ProblemSpec& problem) {
  check_sm(problem.sm);
  check_quant_group(problem.quant, problem.group_size);
  check_dtype(problem.quant, problem.dtype);
  if (problem.kind == KernelKind::moe) {
    check_moe(problem);
  } else {
    check_shape(problem);
  }
  if (problem.quant != QuantType::nvfp4) {
    throw ConfigError("quant_kernel_available", to_string(problem.quant), "nvfp4",
                      to_string(problem.quant) + " kernels are not built yet: allowed nvfp4");
  }
}

}  // namespace marlin_jit
