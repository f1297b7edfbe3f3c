// Kernel catalog: KernelSpec → (template header, name expression, arch), and the precompile set.
#include "compile/kernel_catalog.hpp"

#include <algorithm>

#include "dispatch/tile_select.hpp"
#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit {
namespace {

constexpr const char* kDenseHeader = "marlin_jit/entry/dense_gemm.cuh";
constexpr const char* kPrepHeader = "marlin_jit/entry/nvfp4_prep.cuh";
constexpr const char* kMoeHeader = "marlin_jit/entry/moe_gemm.cuh";
constexpr const char* kMoeRoutingHeader = "marlin_jit/entry/moe_routing.cuh";
constexpr const char* kMoeActivationHeader = "marlin_jit/entry/moe_activation.cuh";

std::string device_type(DType dtype) { return dtype == DType::bf16 ? "__nv_bfloat16" : "__half"; }

std::string arch_of(int sm) { return "sm_" + std::to_string(sm); }

// The rules a kernel spec must pass, sizes unset.
ProblemSpec kernel_problem(const KernelSpec& spec) {
  ProblemSpec problem;
  problem.kind = spec.kind;
  problem.quant = spec.quant;
  problem.group_size = spec.group_size;
  problem.dtype = spec.dtype;
  problem.sm = spec.sm;
  return problem;
}

std::string tile_arguments(const TileConfig& t) {
  return std::to_string(t.threads) + ", " + std::to_string(t.m_blocks) + ", " + std::to_string(t.n_blocks) + ", " +
         std::to_string(t.k_blocks) + ", " + std::to_string(t.stages);
}

KernelRequest dense_request(const KernelSpec& spec) {
  check_supported(kernel_problem(spec));
  dispatch::check_tile(spec.tile, spec.sm);
  std::string name = "marlin_jit::kernels::dense_gemm<" + device_type(spec.dtype) +
                     ", marlin_jit::kernels::QuantKind::nvfp4, " + std::to_string(spec.group_size) + ", " +
                     tile_arguments(spec.tile) + ">";
  return {kDenseHeader, std::move(name), arch_of(spec.sm)};
}

// The MoE GEMM epilogue a spec's activation names: GEMM1 with the fused activation, or (none) GEMM2.
std::string moe_epilogue(Activation activation) {
  switch (activation) {
    case Activation::silu_gated: return "silu_gated";
    case Activation::relu2: return "relu2";
    case Activation::none: return "weighted";
  }
  return "weighted";
}

KernelRequest moe_request(const KernelSpec& spec) {
  ProblemSpec problem = kernel_problem(spec);
  if (spec.activation != Activation::none) problem.activation = spec.activation;  // none: the down projection
  check_supported(problem);
  dispatch::check_tile(spec.tile, spec.sm);
  std::string name = "marlin_jit::kernels::moe_gemm<" + device_type(spec.dtype) +
                     ", marlin_jit::kernels::QuantKind::nvfp4, " + std::to_string(spec.group_size) +
                     ", marlin_jit::kernels::MoeEpilogue::" + moe_epilogue(spec.activation) + ", " +
                     tile_arguments(spec.tile) + ">";
  return {kMoeHeader, std::move(name), arch_of(spec.sm)};
}

struct PrepKernel {
  const char* op;
  const char* header;
  const char* name;
};

constexpr PrepKernel kPrepKernels[] = {
    {kPrepRepack, kPrepHeader, "marlin_jit::kernels::nvfp4_repack_weights"},
    {kPrepScales, kPrepHeader, "marlin_jit::kernels::nvfp4_prepare_scales"},
    {kPrepDequantFp16, kPrepHeader, "marlin_jit::kernels::nvfp4_dequantize<__half>"},
    {kPrepDequantBf16, kPrepHeader, "marlin_jit::kernels::nvfp4_dequantize<__nv_bfloat16>"},
    {kPrepBiasRowsFp16, kPrepHeader, "marlin_jit::kernels::broadcast_rows<__half>"},
    {kPrepBiasRowsBf16, kPrepHeader, "marlin_jit::kernels::broadcast_rows<__nv_bfloat16>"},
    {kPrepMoeAlign, kMoeRoutingHeader, "marlin_jit::kernels::moe_align"},
    {kPrepMoeSumFp16, kMoeRoutingHeader, "marlin_jit::kernels::moe_sum<__half>"},
    {kPrepMoeSumBf16, kMoeRoutingHeader, "marlin_jit::kernels::moe_sum<__nv_bfloat16>"},
    {kPrepMoeSiluFp16, kMoeActivationHeader, "marlin_jit::kernels::moe_activation<__half, true>"},
    {kPrepMoeSiluBf16, kMoeActivationHeader, "marlin_jit::kernels::moe_activation<__nv_bfloat16, true>"},
    {kPrepMoeRelu2Fp16, kMoeActivationHeader, "marlin_jit::kernels::moe_activation<__half, false>"},
    {kPrepMoeRelu2Bf16, kMoeActivationHeader, "marlin_jit::kernels::moe_activation<__nv_bfloat16, false>"},
};

KernelRequest prep_request(const KernelSpec& spec) {
  check_sm(spec.sm);
  if (spec.quant != QuantType::nvfp4) {
    throw ConfigError("quant_kernel_available", to_string(spec.quant), "nvfp4",
                      "no preparation kernels for " + to_string(spec.quant) + " yet");
  }
  std::string known;
  for (const PrepKernel& kernel : kPrepKernels) {
    if (spec.prep_op == kernel.op) return {kernel.header, kernel.name, arch_of(spec.sm)};
    known += known.empty() ? kernel.op : std::string(", ") + kernel.op;
  }
  throw ConfigError("prep_op", spec.prep_op, known, "unknown preparation kernel '" + spec.prep_op + "'");
}

template <typename T>
bool selected(const std::vector<T>& filter, const T& value) {
  return filter.empty() || std::find(filter.begin(), filter.end(), value) != filter.end();
}

}  // namespace

KernelRequest request_for(const KernelSpec& spec) {
  switch (spec.kind) {
    case KernelKind::dense: return dense_request(spec);
    case KernelKind::moe: return moe_request(spec);
    case KernelKind::prep: return prep_request(spec);
  }
  throw ConfigError("kernel_kind", std::to_string(static_cast<int>(spec.kind)), "dense, moe, prep",
                    "unknown kernel kind in spec");
}

namespace {

KernelSpec prep_spec(int sm, const char* op) {
  KernelSpec spec;
  spec.kind = KernelKind::prep;
  spec.sm = sm;
  spec.prep_op = op;
  return spec;
}

// Every GEMM of `kind` the dispatcher can pick on `sm` for `dtype`: dense, or the MoE GEMM1 (both activations) and
// GEMM2 (activation none).
void add_gemm_specs(std::vector<KernelSpec>& specs, KernelKind kind, int sm, DType dtype) {
  const std::vector<Activation> activations = kind == KernelKind::dense
                                                  ? std::vector<Activation>{Activation::none}
                                                  : std::vector<Activation>{Activation::silu_gated, Activation::relu2,
                                                                            Activation::none};
  for (Activation activation : activations) {
    for (const TileConfig& tile : dispatch::candidate_tiles(dispatch::default_limits(sm))) {
      KernelSpec spec;
      spec.kind = kind;
      spec.dtype = dtype;
      spec.sm = sm;
      spec.tile = tile;
      spec.activation = activation;
      specs.push_back(spec);
    }
  }
}

}  // namespace

// Per SM: prep (repack, scales, then per dtype the dequantizer and bias broadcast), dense GEMMs, and moe (per dtype
// the routing kernels, then the GEMMs).
std::vector<KernelSpec> catalog_specs(const CatalogFilter& filter) {
  std::vector<KernelSpec> specs;
  if (!selected(filter.quants, QuantType::nvfp4)) return specs;  // the only quant type with kernels today
  for (int sm : kSupportedSms) {
    if (!selected(filter.sms, sm)) continue;
    if (selected(filter.kinds, KernelKind::prep)) {
      specs.push_back(prep_spec(sm, kPrepRepack));
      specs.push_back(prep_spec(sm, kPrepScales));
      for (DType dtype : {DType::fp16, DType::bf16}) {
        if (!selected(filter.dtypes, dtype)) continue;
        specs.push_back(prep_spec(sm, dtype == DType::bf16 ? kPrepDequantBf16 : kPrepDequantFp16));
        specs.push_back(prep_spec(sm, dtype == DType::bf16 ? kPrepBiasRowsBf16 : kPrepBiasRowsFp16));
      }
    }
    for (DType dtype : {DType::fp16, DType::bf16}) {
      if (!selected(filter.dtypes, dtype)) continue;
      if (selected(filter.kinds, KernelKind::dense)) add_gemm_specs(specs, KernelKind::dense, sm, dtype);
    }
    if (!selected(filter.kinds, KernelKind::moe)) continue;
    specs.push_back(prep_spec(sm, kPrepMoeAlign));
    for (DType dtype : {DType::fp16, DType::bf16}) {
      if (!selected(filter.dtypes, dtype)) continue;
      specs.push_back(prep_spec(sm, dtype == DType::bf16 ? kPrepMoeSumBf16 : kPrepMoeSumFp16));
      add_gemm_specs(specs, KernelKind::moe, sm, dtype);
    }
  }
  return specs;
}

}  // namespace marlin_jit
