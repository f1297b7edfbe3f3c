// Dense NVFP4 linear layers: preparation (checkpoint → kernel layout, on the GPU) and apply (validate, pick the
// tile, fetch the JIT kernel, plan the split, launch). All input checks happen before any allocation or launch.
#include "marlin_jit/nvfp4_linear.hpp"

#include <cstdint>
#include <string>

#include "compile/kernel_catalog.hpp"
#include "dispatch/operand_rules.hpp"
#include "dispatch/shape_rules.hpp"
#include "dispatch/tile_select.hpp"
#include "driver/cublas_library.hpp"
#include "driver/cuda_driver.hpp"
#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"
#include "marlin_jit/kernel_spec.hpp"
#include "marlin_jit/runtime.hpp"
#include "ops/gemm_params.hpp"
#include "ops/gemm_plan.hpp"
#include "ops/layer_device.hpp"
#include "ops/nvfp4_prepare.hpp"
#include "ops/prepared_layer_access.hpp"
#include "ops/prep_launch.hpp"
#include "ops/workspace_pool.hpp"

namespace marlin_jit {

using LinearState = detail::PreparedLayerAccess::LinearState;

struct PreparedNvfp4Linear::Impl {
  ops::LayerDevice where;
  ops::DeviceAllocations memory;
  CUdeviceptr weights = 0;  // prepared codes
  CUdeviceptr scales = 0;   // prepared scale bytes
  std::int64_t n = 0, k = 0, n_padded = 0, k_padded = 0;
  float global_scale_prepared = 0;  // weight_scale_2 · 2^7 (see templates/marlin_jit/common/fp4_dequant.cuh)
};

PreparedNvfp4Linear::PreparedNvfp4Linear(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PreparedNvfp4Linear detail::PreparedLayerAccess::make(std::unique_ptr<LinearState>&& state) {
  return PreparedNvfp4Linear(std::move(state));
}
PreparedNvfp4Linear::PreparedNvfp4Linear(PreparedNvfp4Linear&&) noexcept = default;
PreparedNvfp4Linear& PreparedNvfp4Linear::operator=(PreparedNvfp4Linear&&) noexcept = default;
PreparedNvfp4Linear::~PreparedNvfp4Linear() = default;
std::int64_t PreparedNvfp4Linear::n() const { return impl_->n; }
std::int64_t PreparedNvfp4Linear::k() const { return impl_->k; }
std::int64_t PreparedNvfp4Linear::padded_n() const { return impl_->n_padded; }
int PreparedNvfp4Linear::device() const { return impl_->where.device; }

namespace {

// Large M: the layer dequantized into per-stream scratch (dtype [N][K], weights rounded once), the bias broadcast
// into the output, then out = A · Wᵀ + out through cuBLAS.
void apply_dequantized(Runtime& runtime, const LinearState& prepared, const LinearApplyArgs& args,
                       CUstream stream) {
  const bool bf16 = args.dtype == DType::bf16;
  CUdeviceptr dense = ops::acquire_dense_weights(stream, static_cast<std::uint64_t>(prepared.n * prepared.k) * 2);
  int n = static_cast<int>(prepared.n), k = static_cast<int>(prepared.k), m = static_cast<int>(args.m);
  const unsigned int* weights = reinterpret_cast<const unsigned int*>(prepared.weights);
  const unsigned char* scales = reinterpret_cast<const unsigned char*>(prepared.scales);
  float global = prepared.global_scale_prepared;
  void* dense_pointer = reinterpret_cast<void*>(dense);
  int k_padded = static_cast<int>(prepared.k_padded);
  void* dequant_args[] = {&weights, &scales, &global, &dense_pointer, &n, &k, &k_padded};
  ops::prep_kernel(runtime, prepared.where.limits.sm, bf16 ? kPrepDequantBf16 : kPrepDequantFp16)
      .launch(ops::dequantize_launch(prepared.n, prepared.k), stream, dequant_args);
  float beta = 0.0f;
  if (args.bias != 0) {
    const void* bias = reinterpret_cast<const void*>(args.bias);
    void* out = reinterpret_cast<void*>(args.output);
    void* bias_args[] = {&bias, &out, &m, &n};
    LaunchDims dims;
    dims.block[0] = 256;
    dims.grid[0] = ops::blocks_for(args.m * prepared.n, 256);
    ops::prep_kernel(runtime, prepared.where.limits.sm, bf16 ? kPrepBiasRowsBf16 : kPrepBiasRowsFp16)
        .launch(dims, stream, bias_args);
    beta = 1.0f;
  }
  detail::cublas_gemm_nt(args.dtype, args.m, prepared.n, prepared.k, args.input, dense, args.output, 1.0f, beta,
                         stream);
}

}  // namespace

PreparedNvfp4Linear prepare_nvfp4_linear(Runtime& runtime, const Nvfp4CheckpointLayer& layer, CUstream stream) {
  ProblemSpec problem;
  problem.n = layer.n;
  problem.k = layer.k;
  check_shape(problem);
  dispatch::check_device_pointer("weight", layer.weight);
  dispatch::check_device_pointer("weight_scale", layer.weight_scale);
  dispatch::check_global_scale("weight_scale_2", layer.weight_scale_2);

  auto impl = std::make_unique<LinearState>();
  impl->where = ops::current_layer_device();
  impl->memory = ops::DeviceAllocations(impl->where.context);
  impl->n = layer.n;
  impl->k = layer.k;
  impl->n_padded = ops::round_up(layer.n, kNGranularity);
  impl->k_padded = ops::round_up(layer.k, kKGranularity);
  impl->global_scale_prepared = layer.weight_scale_2 * dispatch::kGlobalScaleFold;

  ops::Nvfp4PrepareJob job;
  job.checkpoint_weight = layer.weight;
  job.checkpoint_scales = layer.weight_scale;
  job.n = layer.n;
  job.k = layer.k;
  job.n_padded = impl->n_padded;
  job.k_padded = impl->k_padded;
  job.prepared_words = impl->weights =
      impl->memory.allocate(static_cast<std::uint64_t>(ops::prepared_words(job.n_padded, job.k_padded)) * 4);
  job.prepared_scales = impl->scales =
      impl->memory.allocate(static_cast<std::uint64_t>(ops::prepared_scale_bytes(job.n_padded, job.k_padded)));
  ops::DeviceAllocations flag_memory(impl->where.context);
  job.nan_found = flag_memory.allocate(sizeof(int));
  const auto& cu = detail::driver();
  detail::check_cu(cu.cuMemsetD32Async(job.nan_found, 0, 1, stream), "cuMemsetD32Async");
  ops::enqueue_nvfp4_prepare(runtime, impl->where.limits.sm, job, stream);
  int nan_found = 0;
  detail::check_cu(cu.cuMemcpyDtoHAsync(&nan_found, job.nan_found, sizeof(int), stream), "cuMemcpyDtoHAsync");
  detail::check_cu(cu.cuStreamSynchronize(stream), "cuStreamSynchronize");
  if (nan_found != 0) {
    throw ConfigError("nvfp4_scale_finite", "NaN (0x7F or 0xFF)", "finite e4m3 codes",
                      "weight_scale holds NaN codes; the layer cannot be served");
  }
  return detail::PreparedLayerAccess::make(std::move(impl));
}

void apply_nvfp4_linear(Runtime& runtime, const PreparedNvfp4Linear& layer, const LinearApplyArgs& args,
                        CUstream stream) {
  const LinearState& prepared = detail::PreparedLayerAccess::state(layer);
  check_dtype(QuantType::nvfp4, args.dtype);
  if (args.m == 0) return;  // an empty batch is a valid no-op
  check_dimension("m", args.m);
  dispatch::check_device_pointer("input", args.input);
  dispatch::check_device_pointer("output", args.output);
  dispatch::check_alignment("input", args.input, 16);
  dispatch::check_alignment("output", args.output, 4);
  CUcontext current = nullptr;
  detail::check_cu(detail::driver().cuCtxGetCurrent(&current), "cuCtxGetCurrent");
  dispatch::check_same_context(current, prepared.where.context, prepared.where.device);
  ProblemSpec problem;
  problem.dtype = args.dtype;
  problem.sm = prepared.where.limits.sm;
  problem.m = args.m;
  problem.n = prepared.n;
  problem.k = prepared.k;
  check_supported(problem);

  if (dispatch::use_dequant_gemm(args.path, args.m, prepared.n, prepared.k, detail::cublas_available())) {
    apply_dequantized(runtime, prepared, args, stream);
    return;
  }

  const TileConfig tile = dispatch::select_tile(args.m, prepared.n, prepared.k_padded, prepared.where.limits);
  const ops::GemmPlan plan = ops::plan_gemm(args.m, prepared.n_padded, prepared.k_padded, tile, prepared.where.limits);
  KernelSpec spec;
  spec.kind = KernelKind::dense;
  spec.dtype = args.dtype;
  spec.sm = prepared.where.limits.sm;
  spec.tile = tile;
  KernelHandle kernel = runtime.get_kernel(request_for(spec), plan.shared_bytes);

  ops::SplitWorkspace workspace;
  if (plan.splits > 1) workspace = ops::acquire_split_workspace(stream, plan.workspace_floats, plan.counters);

  ops::GemmParams params{};
  params.a = reinterpret_cast<const void*>(args.input);
  params.out = reinterpret_cast<void*>(args.output);
  params.bias = reinterpret_cast<const void*>(args.bias);
  params.weights = reinterpret_cast<const unsigned int*>(prepared.weights);
  params.scales = reinterpret_cast<const unsigned char*>(prepared.scales);
  params.workspace = reinterpret_cast<float*>(workspace.partials);
  params.counters = reinterpret_cast<int*>(workspace.counters);
  params.global_scale = prepared.global_scale_prepared;
  params.m = static_cast<int>(args.m);
  params.n = static_cast<int>(prepared.n);
  params.k = static_cast<int>(prepared.k);
  params.n_padded = static_cast<int>(prepared.n_padded);
  params.k_tiles_per_split = plan.k_tiles_per_split;
  params.splits = plan.splits;
  params.k_padded = static_cast<int>(prepared.k_padded);

  LaunchDims dims;
  dims.grid[0] = static_cast<unsigned>(plan.m_chunks);
  dims.grid[1] = static_cast<unsigned>(plan.n_tiles);
  dims.grid[2] = static_cast<unsigned>(plan.splits);
  dims.block[0] = static_cast<unsigned>(tile.threads);
  dims.dynamic_shared_bytes = plan.shared_bytes;
  void* kernel_args[] = {&params};
  kernel.launch(dims, stream, kernel_args);
}

}  // namespace marlin_jit
