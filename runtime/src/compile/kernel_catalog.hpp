// The kernel catalog: which template and name expression serve a KernelSpec, and every spec the dispatcher can
// pick for given axes (what `marlin-jit precompile` warms). The only place that names device entry points.
// Errors: request_for throws ConfigError for specs no kernel serves (rule named in the message).
#pragma once

#include <vector>

#include "marlin_jit/kernel_spec.hpp"
#include "marlin_jit/runtime.hpp"

namespace marlin_jit {

KernelRequest request_for(const KernelSpec& spec);

// Empty vectors mean "all": every supported SM, both dtypes, quant types with kernels, every kind.
struct CatalogFilter {
  std::vector<int> sms;
  std::vector<DType> dtypes;
  std::vector<QuantType> quants;
  std::vector<KernelKind> kinds;
};

std::vector<KernelSpec> catalog_specs(const CatalogFilter& filter);

// Preparation kernels by op name (KernelSpec::prep_op): NVFP4 preparation, the dequantizer and the bias
// broadcast of the dequantize + cuBLAS path.
inline constexpr const char* kPrepRepack = "repack";
inline constexpr const char* kPrepScales = "scales";
inline constexpr const char* kPrepDequantFp16 = "dequant_fp16";
inline constexpr const char* kPrepDequantBf16 = "dequant_bf16";
inline constexpr const char* kPrepBiasRowsFp16 = "bias_rows_fp16";
inline constexpr const char* kPrepBiasRowsBf16 = "bias_rows_bf16";
// MoE routing kernels (templates/marlin_jit/entry/moe_routing.cuh): token alignment and the top-k sum.
inline constexpr const char* kPrepMoeAlign = "moe_align";
inline constexpr const char* kPrepMoeSumFp16 = "moe_sum_fp16";
inline constexpr const char* kPrepMoeSumBf16 = "moe_sum_bf16";
inline constexpr unsigned kMoeAlignThreads = 1024;  // the kernel's block size (kAlignThreads there)

}  // namespace marlin_jit
