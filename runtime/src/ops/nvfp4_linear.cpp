// Dense NVFP4 linear layers: preparation (checkpoint → kernel layout, on the GPU) and apply (validate, pick the
// tile, fetch the JIT kernel, plan the split, launch). All input checks happen before any allocation or launch.
#include "marlin_jit/nvfp4_linear.hpp"

#include <cmath>
#include <cstdint>
#include <string>

#include "compile/kernel_catalog.hpp"
#include "dispatch/tile_select.hpp"
#include "driver/cublas_library.hpp"
#include "driver/cuda_driver.hpp"
#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"
#include "marlin_jit/kernel_spec.hpp"
#include "marlin_jit/runtime.hpp"
#include "ops/gemm_params.hpp"
#include "ops/gemm_plan.hpp"
#include "ops/prep_launch.hpp"
#include "ops/workspace_pool.hpp"

namespace marlin_jit {

struct PreparedNvfp4Linear::Impl {
  CUcontext context = nullptr;
  int device = 0;
  dispatch::DeviceLimits limits;
  CUdeviceptr weights = 0;  // prepared codes
  CUdeviceptr scales = 0;   // prepared scale bytes
  std::int64_t n = 0, k = 0, n_padded = 0;
  float global_scale_prepared = 0;  // weight_scale_2 · 2^7 (see templates/marlin_jit/common/fp4_dequant.cuh)

  ~Impl() {
    if ((weights == 0 && scales == 0) || !detail::driver_available()) return;
    const auto& cu = detail::driver();
    CUcontext previous = nullptr;
    cu.cuCtxGetCurrent(&previous);
    if (previous != context) cu.cuCtxSetCurrent(context);
    if (weights != 0) cu.cuMemFree(weights);
    if (scales != 0) cu.cuMemFree(scales);
    if (previous != context) cu.cuCtxSetCurrent(previous);
  }
};

PreparedNvfp4Linear::PreparedNvfp4Linear(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PreparedNvfp4Linear::PreparedNvfp4Linear(PreparedNvfp4Linear&&) noexcept = default;
PreparedNvfp4Linear& PreparedNvfp4Linear::operator=(PreparedNvfp4Linear&&) noexcept = default;
PreparedNvfp4Linear::~PreparedNvfp4Linear() = default;
std::int64_t PreparedNvfp4Linear::n() const { return impl_->n; }
std::int64_t PreparedNvfp4Linear::k() const { return impl_->k; }
std::int64_t PreparedNvfp4Linear::padded_n() const { return impl_->n_padded; }
int PreparedNvfp4Linear::device() const { return impl_->device; }

namespace {

constexpr std::int64_t kMaxDimension = (std::int64_t{1} << 31) - 1;  // kernels index with 32-bit ints per dimension
constexpr float kGlobalScaleFold = 128.0f;                            // 2^7, see fp4_dequant.cuh

void require(bool ok, const char* rule, const std::string& value, const std::string& allowed,
             const std::string& message) {
  if (!ok) throw ConfigError(rule, value, allowed, message);
}

int attribute(CUdevice_attribute which, CUdevice device) {
  int value = 0;
  detail::check_cu(detail::driver().cuDeviceGetAttribute(&value, which, device), "cuDeviceGetAttribute");
  return value;
}

dispatch::DeviceLimits query_limits(CUdevice device) {
  dispatch::DeviceLimits limits;
  limits.sm = 10 * attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device) +
              attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
  limits.multiprocessors = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device);
  limits.max_shared_bytes_per_block = attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, device);
  limits.max_shared_bytes_per_sm = attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR, device);
  return limits;
}

KernelHandle prep_kernel(Runtime& runtime, int sm, const char* op) {
  KernelSpec spec;
  spec.kind = KernelKind::prep;
  spec.sm = sm;
  spec.prep_op = op;
  return runtime.get_kernel(request_for(spec));
}

unsigned blocks_for(std::int64_t threads_total, unsigned block) {
  return static_cast<unsigned>((threads_total + block - 1) / block);
}

// Large M: the layer dequantized into per-stream scratch (dtype [N][K], weights rounded once), the bias broadcast
// into the output, then out = A · Wᵀ + out through cuBLAS.
void apply_dequantized(Runtime& runtime, const PreparedNvfp4Linear::Impl& prepared, const LinearApplyArgs& args,
                       CUstream stream) {
  const bool bf16 = args.dtype == DType::bf16;
  CUdeviceptr dense = ops::acquire_dense_weights(stream, static_cast<std::uint64_t>(prepared.n * prepared.k) * 2);
  int n = static_cast<int>(prepared.n), k = static_cast<int>(prepared.k), m = static_cast<int>(args.m);
  const unsigned int* weights = reinterpret_cast<const unsigned int*>(prepared.weights);
  const unsigned char* scales = reinterpret_cast<const unsigned char*>(prepared.scales);
  float global = prepared.global_scale_prepared;
  void* dense_pointer = reinterpret_cast<void*>(dense);
  void* dequant_args[] = {&weights, &scales, &global, &dense_pointer, &n, &k};
  prep_kernel(runtime, prepared.limits.sm, bf16 ? kPrepDequantBf16 : kPrepDequantFp16)
      .launch(ops::dequantize_launch(prepared.n, prepared.k), stream, dequant_args);
  float beta = 0.0f;
  if (args.bias != 0) {
    const void* bias = reinterpret_cast<const void*>(args.bias);
    void* out = reinterpret_cast<void*>(args.output);
    void* bias_args[] = {&bias, &out, &m, &n};
    LaunchDims dims;
    dims.block[0] = 256;
    dims.grid[0] = blocks_for(args.m * prepared.n, 256);
    prep_kernel(runtime, prepared.limits.sm, bf16 ? kPrepBiasRowsBf16 : kPrepBiasRowsFp16).launch(dims, stream, bias_args);
    beta = 1.0f;
  }
  detail::cublas_gemm_nt(args.dtype, args.m, prepared.n, prepared.k, args.input, dense, args.output, 1.0f, beta,
                         stream);
}

}  // namespace

PreparedNvfp4Linear prepare_nvfp4_linear(Runtime& runtime, const Nvfp4CheckpointLayer& layer, CUstream stream) {
  require(layer.n >= 1 && layer.n <= kMaxDimension, "shape_n", std::to_string(layer.n), "1 .. 2^31-1",
          "weight rows N = " + std::to_string(layer.n) + " out of range");
  ProblemSpec problem;
  problem.n = layer.n;
  problem.k = layer.k;
  require(layer.k >= 1 && layer.k <= kMaxDimension, "shape_k", std::to_string(layer.k), "1 .. 2^31-1",
          "K = " + std::to_string(layer.k) + " out of range");
  check_shape(problem);
  require(layer.weight != 0 && layer.weight_scale != 0, "null_pointer", "0", "device pointers",
          "checkpoint weight and weight_scale must be device pointers");
  require(std::isfinite(layer.weight_scale_2) && std::isfinite(layer.weight_scale_2 * kGlobalScaleFold),
          "nvfp4_global_scale_finite", std::to_string(layer.weight_scale_2), "a finite float below 2^121",
          "weight_scale_2 must be finite (and leave room for the 2^7 fold)");

  const auto& cu = detail::driver();
  auto impl = std::make_unique<PreparedNvfp4Linear::Impl>();
  const CUdevice device = detail::ensure_current_context();
  detail::check_cu(cu.cuCtxGetCurrent(&impl->context), "cuCtxGetCurrent");
  impl->device = static_cast<int>(device);
  impl->limits = query_limits(device);
  check_sm(impl->limits.sm);
  impl->n = layer.n;
  impl->k = layer.k;
  impl->n_padded = (layer.n + kNGranularity - 1) / kNGranularity * kNGranularity;
  impl->global_scale_prepared = layer.weight_scale_2 * kGlobalScaleFold;

  KernelHandle scales_kernel = prep_kernel(runtime, impl->limits.sm, kPrepScales);
  KernelHandle repack_kernel = prep_kernel(runtime, impl->limits.sm, kPrepRepack);

  const std::int64_t scale_bytes = impl->n_padded * (layer.k / 16);
  const std::int64_t code_words = impl->n_padded * layer.k / 8;
  CUdeviceptr nan_flag = 0;
  detail::check_cu(cu.cuMemAlloc(&impl->scales, static_cast<std::size_t>(scale_bytes)), "cuMemAlloc");
  detail::check_cu(cu.cuMemAlloc(&impl->weights, static_cast<std::size_t>(code_words) * 4), "cuMemAlloc");
  detail::check_cu(cu.cuMemAlloc(&nan_flag, sizeof(int)), "cuMemAlloc");
  int nan_found = 0;
  try {
    detail::check_cu(cu.cuMemsetD32Async(nan_flag, 0, 1, stream), "cuMemsetD32Async");
    int n = static_cast<int>(layer.n), k = static_cast<int>(layer.k), n_padded = static_cast<int>(impl->n_padded);
    const unsigned char* checkpoint_scales = reinterpret_cast<const unsigned char*>(layer.weight_scale);
    const unsigned char* checkpoint_weight = reinterpret_cast<const unsigned char*>(layer.weight);
    unsigned char* prepared_scales = reinterpret_cast<unsigned char*>(impl->scales);
    unsigned int* prepared_weights = reinterpret_cast<unsigned int*>(impl->weights);
    int* flag = reinterpret_cast<int*>(nan_flag);
    void* scale_args[] = {&checkpoint_scales, &prepared_scales, &n, &k, &n_padded, &flag};
    LaunchDims dims;
    dims.block[0] = 256;
    dims.grid[0] = blocks_for(scale_bytes, 256);
    scales_kernel.launch(dims, stream, scale_args);
    void* repack_args[] = {&checkpoint_weight, &checkpoint_scales, &prepared_weights, &n, &k, &n_padded};
    dims.grid[0] = blocks_for(code_words, 256);
    repack_kernel.launch(dims, stream, repack_args);
    detail::check_cu(cu.cuMemcpyDtoHAsync(&nan_found, nan_flag, sizeof(int), stream), "cuMemcpyDtoHAsync");
    detail::check_cu(cu.cuStreamSynchronize(stream), "cuStreamSynchronize");
  } catch (...) {
    cu.cuMemFree(nan_flag);
    throw;
  }
  cu.cuMemFree(nan_flag);
  require(nan_found == 0, "nvfp4_scale_finite", "NaN (0x7F or 0xFF)", "finite e4m3 codes",
          "weight_scale holds NaN codes; the layer cannot be served");
  return PreparedNvfp4Linear(std::move(impl));
}

void apply_nvfp4_linear(Runtime& runtime, const PreparedNvfp4Linear& layer, const LinearApplyArgs& args,
                        CUstream stream) {
  const PreparedNvfp4Linear::Impl& prepared = layer.impl();
  require(args.dtype == DType::fp16 || args.dtype == DType::bf16, "dtype",
          std::to_string(static_cast<int>(args.dtype)), "fp16, bf16", "activation dtype must be fp16 or bf16");
  if (args.m == 0) return;  // an empty batch is a valid no-op
  require(args.m >= 1 && args.m <= kMaxDimension, "shape_m", std::to_string(args.m), "0 .. 2^31-1",
          "M = " + std::to_string(args.m) + " out of range");
  require(args.input != 0 && args.output != 0, "null_pointer", "0", "device pointers",
          "input and output must be device pointers");
  require(args.input % 16 == 0, "input_alignment", std::to_string(args.input % 16), "16-byte aligned",
          "input must be 16-byte aligned (the kernel copies 16-byte chunks)");
  require(args.output % 4 == 0, "output_alignment", std::to_string(args.output % 4), "4-byte aligned",
          "output must be 4-byte aligned");
  CUcontext current = nullptr;
  detail::check_cu(detail::driver().cuCtxGetCurrent(&current), "cuCtxGetCurrent");
  require(current == prepared.context, "device_mismatch", current == nullptr ? "no current context" : "another context",
          "the context the layer was prepared in (device " + std::to_string(prepared.device) + ")",
          "apply must run in the CUDA context the layer was prepared in");
  check_supported(ProblemSpec{KernelKind::dense, QuantType::nvfp4, kNvfp4GroupSize, args.dtype,
                              prepared.limits.sm, args.m, prepared.n, prepared.k});

  require(args.path == GemmPath::automatic || args.path == GemmPath::marlin || args.path == GemmPath::dequant_cublas,
          "gemm_path", std::to_string(static_cast<int>(args.path)), "automatic, marlin, dequant_cublas",
          "unknown GEMM path");
  if (args.path == GemmPath::dequant_cublas ||
      (args.path == GemmPath::automatic && dispatch::prefer_dequant_gemm(args.m, prepared.n, prepared.k) &&
       detail::cublas_available())) {
    require(detail::cublas_available(), "gemm_path", "dequant_cublas", "libcublas.so.13 loadable",
            "the dequantize + cuBLAS path needs libcublas, which could not be loaded");
    apply_dequantized(runtime, prepared, args, stream);
    return;
  }

  const TileConfig tile = dispatch::select_tile(args.m, prepared.n, prepared.k, prepared.limits);
  const ops::GemmPlan plan = ops::plan_gemm(args.m, prepared.n_padded, prepared.k, tile, prepared.limits);
  KernelSpec spec;
  spec.kind = KernelKind::dense;
  spec.dtype = args.dtype;
  spec.sm = prepared.limits.sm;
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
