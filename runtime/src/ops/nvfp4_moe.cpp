// NVFP4 MoE layers: preparation of every expert in one batched pass per projection, and apply (validate, plan,
// align tokens, GEMM1 with the fused activation, GEMM2 weighted by top-k, top-k sum). All input checks happen
// before any allocation or launch; every rule is the dispatcher's (runtime/src/dispatch/).
#include "marlin_jit/nvfp4_moe.hpp"

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "compile/kernel_catalog.hpp"
#include "dispatch/operand_rules.hpp"
#include "driver/cuda_driver.hpp"
#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"
#include "marlin_jit/kernel_spec.hpp"
#include "marlin_jit/runtime.hpp"
#include "ops/gemm_params.hpp"
#include "ops/gemm_plan.hpp"
#include "ops/layer_device.hpp"
#include "ops/moe_plan.hpp"
#include "ops/nvfp4_moe_phases.hpp"
#include "ops/nvfp4_prepare.hpp"
#include "ops/prepared_layer_access.hpp"
#include "ops/workspace_pool.hpp"

namespace marlin_jit {

using MoeState = detail::PreparedLayerAccess::MoeState;

struct PreparedNvfp4Moe::Impl {
  ops::LayerDevice where;
  ops::DeviceAllocations memory;
  Activation activation = Activation::silu_gated;
  std::int64_t experts = 0, hidden = 0, intermediate = 0;
  std::int64_t hidden_padded = 0, intermediate_padded = 0, gemm1_n = 0;
  CUdeviceptr w1_words = 0, w1_scales = 0, w2_words = 0, w2_scales = 0;
  CUdeviceptr global_scales = 0;  // float [2][E]: W1's, then W2's, each × 2^7
  CUdeviceptr w1_bias = 0, w2_bias = 0;  // float [E][N1], [E][H] copies, or 0
};

PreparedNvfp4Moe::PreparedNvfp4Moe(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PreparedNvfp4Moe detail::PreparedLayerAccess::make(std::unique_ptr<MoeState>&& state) {
  return PreparedNvfp4Moe(std::move(state));
}
PreparedNvfp4Moe::PreparedNvfp4Moe(PreparedNvfp4Moe&&) noexcept = default;
PreparedNvfp4Moe& PreparedNvfp4Moe::operator=(PreparedNvfp4Moe&&) noexcept = default;
PreparedNvfp4Moe::~PreparedNvfp4Moe() = default;
std::int64_t PreparedNvfp4Moe::experts() const { return impl_->experts; }
std::int64_t PreparedNvfp4Moe::hidden() const { return impl_->hidden; }
std::int64_t PreparedNvfp4Moe::intermediate() const { return impl_->intermediate; }
std::int64_t PreparedNvfp4Moe::padded_intermediate() const { return impl_->intermediate_padded; }
Activation PreparedNvfp4Moe::activation() const { return impl_->activation; }
int PreparedNvfp4Moe::device() const { return impl_->where.device; }

namespace {

constexpr int kSumThreads = 256;

bool gated(Activation activation) { return activation == Activation::silu_gated; }

// The dispatcher's view of an MoE layer's sizes (per-call fields are the caller's to add).
ProblemSpec moe_problem(Activation activation, std::int64_t experts, std::int64_t hidden, std::int64_t intermediate) {
  ProblemSpec problem;
  problem.kind = KernelKind::moe;
  problem.activation = activation;
  problem.experts = experts;
  problem.hidden = hidden;
  problem.intermediate = intermediate;
  return problem;
}

void validate_checkpoint(const Nvfp4MoeCheckpoint& c) {
  check_moe(moe_problem(c.activation, c.experts, c.hidden, c.intermediate));
  dispatch::check_device_pointer("w1", c.w1);
  dispatch::check_device_pointer("w1_scale", c.w1_scale);
  dispatch::check_device_pointer("w2", c.w2);
  dispatch::check_device_pointer("w2_scale", c.w2_scale);
  dispatch::check_alignment("w1_bias", c.w1_bias, 4);
  dispatch::check_alignment("w2_bias", c.w2_bias, 4);
  for (const auto* scales : {&c.w1_scale_2, &c.w2_scale_2}) {
    const char* name = scales == &c.w1_scale_2 ? "w1_scale_2" : "w2_scale_2";
    if (static_cast<std::int64_t>(scales->size()) != c.experts) {
      throw ConfigError("moe_global_scales", std::string(name) + " size " + std::to_string(scales->size()),
                        std::to_string(c.experts) + " (one per expert)",
                        std::string(name) + " must hold one global scale per expert");
    }
    for (std::size_t e = 0; e < scales->size(); ++e) {
      dispatch::check_global_scale(std::string(name) + "[" + std::to_string(e) + "]", (*scales)[e]);
    }
  }
}

std::uint64_t bias_bytes(std::int64_t count) { return static_cast<std::uint64_t>(count) * sizeof(float); }

// Copies a stacked [E][columns] fp32 bias into the layer's buffer (none: nothing to do).
void copy_bias(CUdeviceptr copy, CUdeviceptr source, std::int64_t count, CUstream stream) {
  if (source == 0) return;
  detail::check_cu(detail::driver().cuMemcpyDtoDAsync(copy, source, bias_bytes(count), stream), "cuMemcpyDtoDAsync");
}

// Allocates one projection's prepared buffers for every expert (before any kernel is enqueued, so a failed
// allocation never frees memory a queued kernel still writes).
void allocate_projection(MoeState& layer, ops::Nvfp4PrepareJob& job) {
  job.experts = layer.experts;
  job.prepared_words = layer.memory.allocate(
      static_cast<std::uint64_t>(ops::prepared_words(job.n_padded, job.k_padded) * layer.experts) * 4);
  job.prepared_scales = layer.memory.allocate(
      static_cast<std::uint64_t>(ops::prepared_scale_bytes(job.n_padded, job.k_padded) * layer.experts));
}

}  // namespace

PreparedNvfp4Moe prepare_nvfp4_moe(Runtime& runtime, const Nvfp4MoeCheckpoint& checkpoint, CUstream stream) {
  validate_checkpoint(checkpoint);
  auto impl = std::make_unique<MoeState>();
  impl->where = ops::current_layer_device();
  impl->memory = ops::DeviceAllocations(impl->where.context);
  impl->activation = checkpoint.activation;
  impl->experts = checkpoint.experts;
  impl->hidden = checkpoint.hidden;
  impl->intermediate = checkpoint.intermediate;
  impl->hidden_padded = ops::round_up(checkpoint.hidden, kKGranularity);
  impl->intermediate_padded = ops::round_up(checkpoint.intermediate, kKGranularity);
  impl->gemm1_n = (gated(checkpoint.activation) ? 2 : 1) * impl->intermediate_padded;
  const std::int64_t w1_rows = (gated(checkpoint.activation) ? 2 : 1) * checkpoint.intermediate;

  const auto& cu = detail::driver();
  ops::DeviceAllocations flags(impl->where.context);
  const CUdeviceptr nan_flags = flags.allocate(2 * sizeof(int));
  ops::Nvfp4PrepareJob w1{checkpoint.w1, checkpoint.w1_scale, 1, w1_rows, checkpoint.hidden, impl->gemm1_n,
                          impl->hidden_padded, gated(checkpoint.activation) ? checkpoint.intermediate : 0, 0, 0,
                          nan_flags};
  ops::Nvfp4PrepareJob w2{checkpoint.w2, checkpoint.w2_scale, 1, checkpoint.hidden, checkpoint.intermediate,
                          impl->hidden_padded, impl->intermediate_padded, 0, 0, 0, nan_flags + sizeof(int)};
  allocate_projection(*impl, w1);
  allocate_projection(*impl, w2);
  impl->w1_words = w1.prepared_words, impl->w1_scales = w1.prepared_scales;
  impl->w2_words = w2.prepared_words, impl->w2_scales = w2.prepared_scales;
  std::vector<float> scales;
  for (float s : checkpoint.w1_scale_2) scales.push_back(s * dispatch::kGlobalScaleFold);
  for (float s : checkpoint.w2_scale_2) scales.push_back(s * dispatch::kGlobalScaleFold);
  impl->global_scales = impl->memory.allocate(scales.size() * sizeof(float));
  if (checkpoint.w1_bias != 0) impl->w1_bias = impl->memory.allocate(bias_bytes(checkpoint.experts * w1_rows));
  if (checkpoint.w2_bias != 0) impl->w2_bias = impl->memory.allocate(bias_bytes(checkpoint.experts * checkpoint.hidden));

  // Everything is allocated: from here on only enqueues and the final wait, which also runs when an enqueue
  // fails, so no queued work outlives the buffers it writes.
  int nan_found[2] = {0, 0};
  try {
    detail::check_cu(cu.cuMemsetD32Async(nan_flags, 0, 2, stream), "cuMemsetD32Async");
    ops::enqueue_nvfp4_prepare(runtime, impl->where.limits.sm, w1, stream);
    ops::enqueue_nvfp4_prepare(runtime, impl->where.limits.sm, w2, stream);
    detail::check_cu(cu.cuMemcpyHtoDAsync(impl->global_scales, scales.data(), scales.size() * sizeof(float), stream),
                     "cuMemcpyHtoDAsync");
    copy_bias(impl->w1_bias, checkpoint.w1_bias, checkpoint.experts * w1_rows, stream);
    copy_bias(impl->w2_bias, checkpoint.w2_bias, checkpoint.experts * checkpoint.hidden, stream);
    detail::check_cu(cu.cuMemcpyDtoHAsync(nan_found, nan_flags, sizeof nan_found, stream), "cuMemcpyDtoHAsync");
  } catch (...) {
    cu.cuStreamSynchronize(stream);
    throw;
  }
  detail::check_cu(cu.cuStreamSynchronize(stream), "cuStreamSynchronize");  // also: `scales` may go now
  for (int projection = 0; projection < 2; ++projection) {
    if (nan_found[projection] == 0) continue;
    const std::string name = projection == 0 ? "w1_scale" : "w2_scale";
    throw ConfigError("nvfp4_scale_finite", name + " holds NaN (0x7F or 0xFF)", "finite e4m3 codes",
                      name + " holds NaN codes; the layer cannot be served");
  }
  return detail::PreparedLayerAccess::make(std::move(impl));
}

namespace {

void validate_apply(const MoeState& layer, const MoeApplyArgs& args) {
  ProblemSpec problem = moe_problem(layer.activation, layer.experts, layer.hidden, layer.intermediate);
  problem.dtype = args.dtype;
  problem.sm = layer.where.limits.sm;
  problem.m = args.m;
  problem.topk = args.topk;
  check_supported(problem);
  dispatch::check_device_pointer("hidden_states", args.hidden_states);
  dispatch::check_device_pointer("topk_ids", args.topk_ids);
  dispatch::check_device_pointer("topk_weights", args.topk_weights);
  dispatch::check_device_pointer("output", args.output);
  dispatch::check_alignment("hidden_states", args.hidden_states, 16);
  dispatch::check_alignment("output", args.output, 16);
  dispatch::check_alignment("topk_ids", args.topk_ids, 4);
  dispatch::check_alignment("topk_weights", args.topk_weights, 4);
  CUcontext current = nullptr;
  detail::check_cu(detail::driver().cuCtxGetCurrent(&current), "cuCtxGetCurrent");
  dispatch::check_same_context(current, layer.where.context, layer.where.device);
}

void report_invalid_ids(CUstream stream) {
  const std::uint64_t invalid = ops::take_unreported_invalid_ids(stream);
  if (invalid == 0) return;
  throw ConfigError("moe_topk_ids_range", std::to_string(invalid) + " ids", "0 .. experts-1",
                    std::to_string(invalid) + " routing ids outside [0, experts) met by earlier MoE calls on this "
                    "stream; those (token, k) pairs contributed zero");
}

// GEMM parameters shared by both grouped GEMMs of one call.
ops::GemmParams grouped_params(const ops::MoePlan& plan, const ops::MoeWorkspace& scratch) {
  ops::GemmParams p{};
  const auto* routing = reinterpret_cast<const int*>(scratch.routing);
  p.sorted_rows = routing;
  p.block_experts = routing + static_cast<std::int64_t>(plan.max_blocks) * plan.block_rows;
  p.slots = static_cast<int>(plan.slots);
  return p;
}

void launch_grouped(Runtime& runtime, const MoeState& layer, DType dtype, Activation epilogue,
                    const ops::GroupedGemmPlan& gemm, int max_blocks, const ops::SplitWorkspace& split,
                    ops::GemmParams& params, CUstream stream) {
  KernelSpec spec;
  spec.kind = KernelKind::moe;
  spec.dtype = dtype;
  spec.sm = layer.where.limits.sm;
  spec.tile = gemm.tile;
  spec.activation = epilogue;
  if (gemm.splits > 1 && gemm.tile.tile_m() != ops::kSplitBlockRows) {
    throw InternalError("grouped GEMM planned with " + std::to_string(gemm.splits) + " K splits on tile " +
                        to_string(gemm.tile) + ", whose kernel has no split reduction");
  }
  KernelHandle kernel = runtime.get_kernel(request_for(spec), gemm.shared_bytes);
  params.k_tiles_per_split = gemm.k_tiles_per_split;
  params.splits = gemm.splits;
  params.workspace = reinterpret_cast<float*>(split.partials);
  params.counters = reinterpret_cast<int*>(split.counters);
  LaunchDims dims;
  dims.grid[0] = static_cast<unsigned>(max_blocks);
  dims.grid[1] = static_cast<unsigned>(gemm.n_tiles);
  dims.grid[2] = static_cast<unsigned>(gemm.splits);
  dims.block[0] = static_cast<unsigned>(gemm.tile.threads);
  dims.dynamic_shared_bytes = gemm.shared_bytes;
  void* args[] = {&params};
  kernel.launch(dims, stream, args);
}

void launch_align(Runtime& runtime, const MoeState& layer, const MoeApplyArgs& args,
                  const ops::MoePlan& plan, const ops::MoeWorkspace& scratch, CUstream stream) {
  const int* topk_ids = reinterpret_cast<const int*>(args.topk_ids);
  int slots = static_cast<int>(plan.slots), experts = static_cast<int>(layer.experts);
  int block_rows = plan.block_rows, max_blocks = plan.max_blocks;
  int* sorted_rows = reinterpret_cast<int*>(scratch.routing);
  int* block_experts = sorted_rows + static_cast<std::int64_t>(max_blocks) * block_rows;
  int* padded_total = block_experts + max_blocks;
  auto* invalid_ids = reinterpret_cast<unsigned int*>(scratch.invalid_ids);
  auto* invalid_ids_mirror = reinterpret_cast<unsigned int*>(scratch.invalid_ids_mirror);
  void* kernel_args[] = {&topk_ids,    &slots,         &experts,      &block_rows,  &max_blocks,
                         &sorted_rows, &block_experts, &padded_total, &invalid_ids, &invalid_ids_mirror};
  LaunchDims dims;
  dims.block[0] = kMoeAlignThreads;
  ops::prep_kernel(runtime, layer.where.limits.sm, kPrepMoeAlign).launch(dims, stream, kernel_args);
}

void launch_sum(Runtime& runtime, const MoeState& layer, const MoeApplyArgs& args,
                const ops::MoeWorkspace& scratch, CUstream stream) {
  const void* slot_rows = reinterpret_cast<const void*>(scratch.slot_outputs);
  int slot_stride = static_cast<int>(layer.hidden_padded), topk = args.topk;
  int experts = static_cast<int>(layer.experts), columns = static_cast<int>(layer.hidden);
  const int* topk_ids = reinterpret_cast<const int*>(args.topk_ids);
  void* out = reinterpret_cast<void*>(args.output);
  void* kernel_args[] = {&slot_rows, &slot_stride, &topk_ids, &topk, &experts, &out, &columns};
  LaunchDims dims;
  dims.grid[0] = static_cast<unsigned>(args.m);
  dims.block[0] = kSumThreads;
  ops::prep_kernel(runtime, layer.where.limits.sm, args.dtype == DType::bf16 ? kPrepMoeSumBf16 : kPrepMoeSumFp16)
      .launch(dims, stream, kernel_args);
}

// GEMM1: gathered hidden rows × W1 with the fused activation, into the intermediate rows.
ops::GemmParams gemm1_params(const MoeState& layer, const MoeApplyArgs& args, const ops::MoePlan& plan,
                             const ops::MoeWorkspace& scratch) {
  ops::GemmParams gemm1 = grouped_params(plan, scratch);
  gemm1.a = reinterpret_cast<const void*>(args.hidden_states);
  gemm1.out = reinterpret_cast<void*>(scratch.intermediate);
  gemm1.weights = reinterpret_cast<const unsigned int*>(layer.w1_words);
  gemm1.scales = reinterpret_cast<const unsigned char*>(layer.w1_scales);
  gemm1.expert_global_scales = reinterpret_cast<const float*>(layer.global_scales);
  gemm1.expert_bias = reinterpret_cast<const float*>(layer.w1_bias);
  gemm1.bias_stride = static_cast<int>((gated(layer.activation) ? 2 : 1) * layer.intermediate);
  gemm1.m = static_cast<int>(args.m);
  gemm1.n = static_cast<int>(layer.intermediate);
  gemm1.k = static_cast<int>(layer.hidden);
  gemm1.n_padded = static_cast<int>(layer.gemm1_n);
  gemm1.k_padded = static_cast<int>(layer.hidden_padded);
  gemm1.expert_weight_words = ops::prepared_words(layer.gemm1_n, layer.hidden_padded);
  gemm1.expert_scale_bytes = ops::prepared_scale_bytes(layer.gemm1_n, layer.hidden_padded);
  gemm1.gather_divisor = args.topk;
  gemm1.out_stride = static_cast<int>(layer.intermediate_padded);
  return gemm1;
}

// GEMM2: intermediate rows × W2, each slot's row times its top-k weight, into the slot output rows.
ops::GemmParams gemm2_params(const MoeState& layer, const MoeApplyArgs& args, const ops::MoePlan& plan,
                             const ops::MoeWorkspace& scratch) {
  ops::GemmParams gemm2 = grouped_params(plan, scratch);
  gemm2.a = reinterpret_cast<const void*>(scratch.intermediate);
  gemm2.out = reinterpret_cast<void*>(scratch.slot_outputs);
  gemm2.weights = reinterpret_cast<const unsigned int*>(layer.w2_words);
  gemm2.scales = reinterpret_cast<const unsigned char*>(layer.w2_scales);
  gemm2.expert_global_scales = reinterpret_cast<const float*>(layer.global_scales) + layer.experts;
  gemm2.expert_bias = reinterpret_cast<const float*>(layer.w2_bias);
  gemm2.bias_stride = static_cast<int>(layer.hidden);
  gemm2.slot_weights = reinterpret_cast<const float*>(args.topk_weights);
  gemm2.m = static_cast<int>(plan.slots);
  gemm2.n = static_cast<int>(layer.hidden);
  gemm2.k = static_cast<int>(layer.intermediate_padded);
  gemm2.n_padded = static_cast<int>(layer.hidden_padded);
  gemm2.k_padded = static_cast<int>(layer.intermediate_padded);
  gemm2.expert_weight_words = ops::prepared_words(layer.hidden_padded, layer.intermediate_padded);
  gemm2.expert_scale_bytes = ops::prepared_scale_bytes(layer.hidden_padded, layer.intermediate_padded);
  gemm2.gather_divisor = 1;
  gemm2.out_stride = static_cast<int>(layer.hidden_padded);
  return gemm2;
}

// The separate-activation measurement (MoePhaseOptions): GEMM1 with the plain epilogue stores raw rows (gate and
// up interleaved by 16 columns when gated) into the slot output buffer, which GEMM2 overwrites only later; then the
// activation kernel writes the intermediate rows.
void launch_gemm1_then_activation(Runtime& runtime, const MoeState& layer, const MoeApplyArgs& args,
                                  const ops::MoePlan& plan, const ops::MoeWorkspace& scratch,
                                  const ops::SplitWorkspace& split, CUstream stream,
                                  const std::function<void(const char* phase)>& after_phase) {
  if (layer.w1_bias != 0) throw InternalError("the separate-activation measurement takes layers without a W1 bias");
  ops::GemmParams gemm1 = gemm1_params(layer, args, plan, scratch);
  gemm1.out = reinterpret_cast<void*>(scratch.slot_outputs);
  gemm1.n = gemm1.out_stride = static_cast<int>(layer.gemm1_n);
  launch_grouped(runtime, layer, args.dtype, Activation::none, plan.gemm1, plan.max_blocks, split, gemm1, stream);
  if (after_phase) after_phase("gemm1");
  const void* raw = reinterpret_cast<const void*>(scratch.slot_outputs);
  void* out = reinterpret_cast<void*>(scratch.intermediate);
  int raw_stride = static_cast<int>(layer.gemm1_n), out_stride = static_cast<int>(layer.intermediate_padded);
  int columns = out_stride;
  void* kernel_args[] = {&raw, &raw_stride, &out, &out_stride, &columns};
  LaunchDims dims;
  dims.grid[0] = static_cast<unsigned>(plan.slots);
  dims.block[0] = kSumThreads;
  const bool bf16 = args.dtype == DType::bf16;
  const char* op = gated(layer.activation) ? (bf16 ? kPrepMoeSiluBf16 : kPrepMoeSiluFp16)
                                           : (bf16 ? kPrepMoeRelu2Bf16 : kPrepMoeRelu2Fp16);
  ops::prep_kernel(runtime, layer.where.limits.sm, op).launch(dims, stream, kernel_args);
  if (after_phase) after_phase("activation");
}

}  // namespace

void ops::apply_nvfp4_moe_phased(Runtime& runtime, const PreparedNvfp4Moe& prepared, const MoeApplyArgs& args,
                                 CUstream stream, const std::function<void(const char* phase)>& after_phase,
                                 const MoePhaseOptions& options) {
  const MoeState& layer = detail::PreparedLayerAccess::state(prepared);
  check_dtype(QuantType::nvfp4, args.dtype);
  if (args.m == 0) return;  // an empty batch is a valid no-op
  validate_apply(layer, args);
  report_invalid_ids(stream);

  const ops::MoePlan plan = ops::plan_moe(
      {args.m, args.topk, layer.experts, layer.gemm1_n, layer.hidden, layer.hidden_padded, layer.intermediate_padded},
      layer.where.limits);
  const std::uint64_t raw_elements = options.separate_activation ? plan.slots * layer.gemm1_n : 0;
  const ops::MoeWorkspace scratch =
      ops::acquire_moe_workspace(stream, plan.routing_ints * sizeof(int), plan.intermediate_elements * 2,
                                 std::max(plan.slot_output_elements, raw_elements) * 2);
  ops::SplitWorkspace split;
  if (plan.split_workspace_floats > 0) {
    split = ops::acquire_split_workspace(stream, plan.split_workspace_floats, plan.split_counters);
  }
  launch_align(runtime, layer, args, plan, scratch, stream);
  if (after_phase) after_phase("align");
  if (options.separate_activation) {
    launch_gemm1_then_activation(runtime, layer, args, plan, scratch, split, stream, after_phase);
  } else {
    ops::GemmParams gemm1 = gemm1_params(layer, args, plan, scratch);
    launch_grouped(runtime, layer, args.dtype, layer.activation, plan.gemm1, plan.max_blocks, split, gemm1, stream);
    if (after_phase) after_phase("gemm1");
  }
  ops::GemmParams gemm2 = gemm2_params(layer, args, plan, scratch);
  launch_grouped(runtime, layer, args.dtype, Activation::none, plan.gemm2, plan.max_blocks, split, gemm2, stream);
  if (after_phase) after_phase("gemm2");
  launch_sum(runtime, layer, args, scratch, stream);
  if (after_phase) after_phase("sum");
}

void apply_nvfp4_moe(Runtime& runtime, const PreparedNvfp4Moe& layer, const MoeApplyArgs& args, CUstream stream) {
  ops::apply_nvfp4_moe_phased(runtime, layer, args, stream, {});
}

std::uint64_t moe_routing_errors(CUstream stream) {
  detail::check_cu(detail::driver().cuStreamSynchronize(stream), "cuStreamSynchronize");
  return ops::take_unreported_invalid_ids(stream);
}

}  // namespace marlin_jit
