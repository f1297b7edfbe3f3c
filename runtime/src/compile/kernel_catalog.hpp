// The kernel catalog's internal names: the preparation and routing kernels' op names (KernelSpec::prep_op).
// The public half (request_for, catalog_specs) is marlin_jit/catalog.hpp; kernel_catalog.cpp is the only place
// that names device entry points.
#pragma once

#include <vector>

#include "marlin_jit/catalog.hpp"

namespace marlin_jit {

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
// The activation as a separate kernel after a raw GEMM1 (entry/moe_activation.cuh): only for measuring the fused
// epilogue against it (bench_moe --separate-activation), so precompile does not warm them.
inline constexpr const char* kPrepMoeSiluFp16 = "moe_silu_fp16";
inline constexpr const char* kPrepMoeSiluBf16 = "moe_silu_bf16";
inline constexpr const char* kPrepMoeRelu2Fp16 = "moe_relu2_fp16";
inline constexpr const char* kPrepMoeRelu2Bf16 = "moe_relu2_bf16";
inline constexpr unsigned kMoeAlignThreads = 1024;  // the kernel's block size (kAlignThreads there)

}  // namespace marlin_jit
