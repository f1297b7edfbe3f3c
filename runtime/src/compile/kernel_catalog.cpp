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

std::string device_type(DType dtype) { return dtype == DType::bf16 ? "__nv_bfloat16" : "__half"; }

std::string arch_of(int sm) { return "sm_" + std::to_string(sm); }

// Mirrors TileShape's static_asserts so a bad tile is refused before NVRTC sees it.
void check_tile(const TileConfig& tile, int sm) {
  const bool valid = tile.threads >= 32 && tile.threads <= 1024 && tile.n_blocks >= 1 && tile.k_blocks >= 4 &&
                     tile.k_blocks % 4 == 0 && tile.m_blocks >= 1 && tile.m_blocks <= 4 && tile.stages >= 2 &&
                     tile.stages <= 16 && dispatch::warp_layout(tile).valid;
  if (!valid) {
    throw ConfigError("tile_config", to_string(tile),
                      "threads a multiple of 32; n_blocks 1..4 or a multiple of 4, each warp owning min(4, n_blocks) "
                      "of them; the warps per column group a power of two taking 1, 2 or a multiple of 4 of the "
                      "k_blocks (a multiple of 4); m_blocks 1..4; stages 2..16",
                      "tile " + to_string(tile) + " is not a valid dense GEMM tile");
  }
  const dispatch::DeviceLimits limits = dispatch::default_limits(sm);
  if (dispatch::shared_bytes(tile) > limits.max_shared_bytes_per_block) {
    throw ConfigError("tile_shared_memory", std::to_string(dispatch::shared_bytes(tile)),
                      "<= " + std::to_string(limits.max_shared_bytes_per_block),
                      "tile " + to_string(tile) + " needs " + std::to_string(dispatch::shared_bytes(tile)) +
                          " bytes of shared memory, more than sm_" + std::to_string(sm) + " gives a block");
  }
}

KernelRequest dense_request(const KernelSpec& spec) {
  check_supported(ProblemSpec{KernelKind::dense, spec.quant, spec.group_size, spec.dtype, spec.sm, {}, {}, {}});
  check_tile(spec.tile, spec.sm);
  const TileConfig& t = spec.tile;
  std::string name = "marlin_jit::kernels::dense_gemm<" + device_type(spec.dtype) +
                     ", marlin_jit::kernels::QuantKind::nvfp4, " + std::to_string(spec.group_size) + ", " +
                     std::to_string(t.threads) + ", " + std::to_string(t.m_blocks) + ", " +
                     std::to_string(t.n_blocks) + ", " + std::to_string(t.k_blocks) + ", " +
                     std::to_string(t.stages) + ">";
  return {kDenseHeader, std::move(name), arch_of(spec.sm)};
}

KernelRequest prep_request(const KernelSpec& spec) {
  check_sm(spec.sm);
  if (spec.quant != QuantType::nvfp4) {
    throw ConfigError("quant_kernel_available", to_string(spec.quant), "nvfp4",
                      "no preparation kernels for " + to_string(spec.quant) + " yet");
  }
  const std::string& op = spec.prep_op;
  std::string name;
  if (op == kPrepRepack) {
    name = "marlin_jit::kernels::nvfp4_repack_weights";
  } else if (op == kPrepScales) {
    name = "marlin_jit::kernels::nvfp4_prepare_scales";
  } else if (op == kPrepDequantFp16) {
    name = "marlin_jit::kernels::nvfp4_dequantize<__half>";
  } else if (op == kPrepDequantBf16) {
    name = "marlin_jit::kernels::nvfp4_dequantize<__nv_bfloat16>";
  } else if (op == kPrepBiasRowsFp16) {
    name = "marlin_jit::kernels::broadcast_rows<__half>";
  } else if (op == kPrepBiasRowsBf16) {
    name = "marlin_jit::kernels::broadcast_rows<__nv_bfloat16>";
  } else {
    throw ConfigError("prep_op", op, "repack, scales, dequant_fp16, dequant_bf16, bias_rows_fp16, bias_rows_bf16",
                      "unknown preparation kernel '" + op + "'");
  }
  return {kPrepHeader, std::move(name), arch_of(spec.sm)};
}

template <typename T>
bool selected(const std::vector<T>& filter, const T& value) {
  return filter.empty() || std::find(filter.begin(), filter.end(), value) != filter.end();
}

}  // namespace

KernelRequest request_for(const KernelSpec& spec) {
  switch (spec.kind) {
    case KernelKind::dense: return dense_request(spec);
    case KernelKind::prep: return prep_request(spec);
    case KernelKind::moe: break;
  }
  throw ConfigError("kernel_available", to_string(spec.kind), "dense, prep",
                    "MoE kernels are not built yet (spec " + to_string(spec) + ")");
}

std::vector<KernelSpec> catalog_specs(const CatalogFilter& filter) {
  std::vector<KernelSpec> specs;
  if (!selected(filter.quants, QuantType::nvfp4)) return specs;  // the only quant type with kernels today
  for (int sm : kSupportedSms) {
    if (!selected(filter.sms, sm)) continue;
    if (selected(filter.kinds, KernelKind::prep)) {
      for (const char* op : {kPrepRepack, kPrepScales}) {
        KernelSpec spec;
        spec.kind = KernelKind::prep;
        spec.sm = sm;
        spec.prep_op = op;
        specs.push_back(spec);
      }
      for (DType dtype : {DType::fp16, DType::bf16}) {
        if (!selected(filter.dtypes, dtype)) continue;
        for (const char* op : {dtype == DType::bf16 ? kPrepDequantBf16 : kPrepDequantFp16,
                               dtype == DType::bf16 ? kPrepBiasRowsBf16 : kPrepBiasRowsFp16}) {
          KernelSpec spec;
          spec.kind = KernelKind::prep;
          spec.sm = sm;
          spec.prep_op = op;
          specs.push_back(spec);
        }
      }
    }
    if (selected(filter.kinds, KernelKind::dense)) {
      for (DType dtype : {DType::fp16, DType::bf16}) {
        if (!selected(filter.dtypes, dtype)) continue;
        for (const TileConfig& tile : dispatch::candidate_tiles(dispatch::default_limits(sm))) {
          KernelSpec spec;
          spec.kind = KernelKind::dense;
          spec.dtype = dtype;
          spec.sm = sm;
          spec.tile = tile;
          specs.push_back(spec);
        }
      }
    }
  }
  return specs;
}

}  // namespace marlin_jit
