// Fused NVFP4 MoE layers on the GPU: the token alignment kernel against its CPU reference; apply_nvfp4_moe against
// a float64 reference, accepted when its error is at most 1.25× that of a same-dtype emulation (plus a small slack);
// determinism and CUDA graph replay; out-of-range routing ids; and the refusals that come before any launch.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "test_seed.hpp"
#include "compile/kernel_catalog.hpp"
#include "gpu_test_env.hpp"
#include "marlin_jit/error.hpp"
#include "marlin_jit/nvfp4_moe.hpp"
#include "marlin_jit/runtime.hpp"
#include "moe_reference.hpp"
#include "nvfp4_checkpoint.hpp"
#include "ops/moe_plan.hpp"
#include "ops/nvfp4_moe_phases.hpp"
#include "reference_gemm.hpp"

namespace marlin_jit::test {
namespace {

// The bar: error(ours vs float64) <= kEmulationErrorFactor · error(emulation vs float64) + kRelErrorSlack. The
// slack covers what the emulation (float64 sums) does not model of ours: fp32 accumulation over K <= 4096
// (random-signed, ~√K·2^-24 ≈ 4e-6 relative), the fp32 epilogue and __expf in SiLU (a few fp32 ulps); it is 20×
// below the smallest dtype error measured here (fp16, ~2e-4), and lets an exactly-zero output pass.
constexpr double kEmulationErrorFactor = 1.25;
constexpr double kRelErrorSlack = 1e-5;
// No token row may be off by more than this, whatever the rest: a row routed to a wrong expert or weighted wrongly
// is off by O(1), while dtype rounding leaves rows within ~1e-2 (bf16).
constexpr double kWorstRowRelError = 0.05;
constexpr std::int64_t kOutputGuard = 256;  // elements past the output that must keep their poison
constexpr std::uint16_t kPoison = 0xFFFF;   // a NaN in fp16 and in bf16

std::string seed_trace() { return "MARLIN_JIT_TEST_SEED=" + std::to_string(run_seed()); }

// ---- the process-wide session: one Runtime on the GPU tests' shared kernel cache, one stream

struct Session {
  Runtime runtime{[] {
    RuntimeOptions options;
    options.cache_dir = test_cache_dir();
    return options;
  }()};
  CudaStream stream;
};

std::unique_ptr<Session>& session_slot() {
  static std::unique_ptr<Session> session;
  return session;
}
Session& session() {
  if (!session_slot()) session_slot() = std::make_unique<Session>();
  return *session_slot();
}

// The Runtime and its stream go before cudart's own teardown at exit.
class ReleaseBeforeExit : public ::testing::Environment {
 public:
  void TearDown() override { session_slot().reset(); }
};
[[maybe_unused]] ::testing::Environment* const kReleaseBeforeExit =
    ::testing::AddGlobalTestEnvironment(new ReleaseBeforeExit);

// ---- layers on the device

struct DeviceCheckpoint {
  DeviceBuffer w1, w1_scale, w2, w2_scale, w1_bias, w2_bias;
};

DeviceCheckpoint upload_checkpoint(const MoeHostLayer& host) {
  DeviceCheckpoint d;
  d.w1 = DeviceBuffer::from_host(stacked_weights(host.w1));
  d.w1_scale = DeviceBuffer::from_host(stacked_scales(host.w1));
  d.w2 = DeviceBuffer::from_host(stacked_weights(host.w2));
  d.w2_scale = DeviceBuffer::from_host(stacked_scales(host.w2));
  d.w1_bias = DeviceBuffer::from_host(host.w1_bias);
  d.w2_bias = DeviceBuffer::from_host(host.w2_bias);
  MARLIN_JIT_CUDA(cudaDeviceSynchronize());  // a pageable cudaMemcpy may return before its DMA lands
  return d;
}

Nvfp4MoeCheckpoint checkpoint_view(const MoeHostLayer& host, const DeviceCheckpoint& d, bool bias) {
  Nvfp4MoeCheckpoint c;
  c.experts = host.experts;
  c.hidden = host.hidden;
  c.intermediate = host.intermediate;
  c.activation = host.activation;
  c.w1 = d.w1.address();
  c.w1_scale = d.w1_scale.address();
  c.w1_scale_2 = global_scales(host.w1);
  c.w2 = d.w2.address();
  c.w2_scale = d.w2_scale.address();
  c.w2_scale_2 = global_scales(host.w2);
  c.w1_bias = bias ? d.w1_bias.address() : 0;
  c.w2_bias = bias ? d.w2_bias.address() : 0;
  return c;
}

// One checkpoint layer and its preparations without and (when the host layer has biases) with biases.
struct MoeUnderTest {
  MoeHostLayer host;
  std::optional<PreparedNvfp4Moe> plain, biased;
  const PreparedNvfp4Moe& prepared(bool bias) const { return bias ? *biased : *plain; }
};

std::unique_ptr<MoeUnderTest> make_under_test(const std::string& name, std::int64_t experts, std::int64_t hidden,
                                              std::int64_t intermediate, Activation activation, bool bias) {
  Session& s = session();
  auto layer = std::make_unique<MoeUnderTest>();
  layer->host = make_moe_layer(experts, hidden, intermediate, activation, bias, seed_for(name + "/experts"));
  DeviceCheckpoint d = upload_checkpoint(layer->host);
  layer->plain.emplace(prepare_nvfp4_moe(s.runtime, checkpoint_view(layer->host, d, false), s.stream.get()));
  if (bias) layer->biased.emplace(prepare_nvfp4_moe(s.runtime, checkpoint_view(layer->host, d, true), s.stream.get()));
  // The checkpoint may be freed once prepare returns: scribble over it first (codes −6, scales NaN, biases NaN),
  // so a prepared layer that still reads it fails every case.
  for (DeviceBuffer* buffer : {&d.w1, &d.w1_scale, &d.w2, &d.w2_scale, &d.w1_bias, &d.w2_bias}) {
    if (buffer->bytes() > 0) buffer->fill_bytes(0xFF, s.stream.get());
  }
  s.stream.synchronize();
  EXPECT_EQ(layer->plain->experts(), experts);
  EXPECT_EQ(layer->plain->hidden(), hidden);
  EXPECT_EQ(layer->plain->intermediate(), intermediate);
  EXPECT_EQ(layer->plain->padded_intermediate(), (intermediate + 63) / 64 * 64);
  EXPECT_EQ(layer->plain->activation(), activation);
  return layer;
}

// Routing and activations of one call, on the device (activations per dtype).
struct MoeInputs {
  std::int64_t m = 0, hidden = 0;
  int topk = 1;
  DeviceBuffer x[2], ids, weights;  // x indexed by dtype == bf16
  DeviceBuffer out;                 // [m][hidden] + guard
};

MoeInputs upload_inputs(const std::vector<double>& x, const MoeRouting& routing, std::int64_t hidden) {
  MoeInputs in;
  in.m = routing.m;
  in.topk = routing.topk;
  in.hidden = hidden;
  in.x[0] = DeviceBuffer::from_host(to_half_bits(x, DType::fp16));
  in.x[1] = DeviceBuffer::from_host(to_half_bits(x, DType::bf16));
  in.ids = DeviceBuffer::from_host(routing.ids);
  in.weights = DeviceBuffer::from_host(routing.weights);
  in.out = DeviceBuffer(static_cast<std::size_t>(routing.m * hidden + kOutputGuard) * 2);
  MARLIN_JIT_CUDA(cudaDeviceSynchronize());  // a pageable cudaMemcpy may return before its DMA lands
  return in;
}

MoeApplyArgs apply_args(const MoeInputs& in, DType dtype) {
  MoeApplyArgs args;
  args.hidden_states = in.x[dtype == DType::bf16 ? 1 : 0].address();
  args.topk_ids = in.ids.address();
  args.topk_weights = in.weights.address();
  args.output = in.out.address();
  args.m = in.m;
  args.topk = in.topk;
  args.dtype = dtype;
  return args;
}

// Poisons the output, applies on `stream` (the variant: the separate-activation measurement), waits, and returns
// the output with its guard.
std::vector<std::uint16_t> apply_once(const PreparedNvfp4Moe& layer, MoeInputs& in, DType dtype, cudaStream_t stream,
                                      const ops::MoePhaseOptions& variant = {}) {
  in.out.fill_bytes(0xFF, stream);
  if (variant.separate_activation) {
    ops::apply_nvfp4_moe_phased(session().runtime, layer, apply_args(in, dtype), stream, {}, variant);
  } else {
    apply_nvfp4_moe(session().runtime, layer, apply_args(in, dtype), stream);
  }
  MARLIN_JIT_CUDA(cudaStreamSynchronize(stream));
  return in.out.to_host<std::uint16_t>();
}

// Where an [m][n] output (plus guard) still holds poison or holds a non-finite value; empty when fully written.
std::string unwritten_or_non_finite(const std::vector<std::uint16_t>& out, DType dtype, std::int64_t m,
                                    std::int64_t n) {
  std::int64_t bad = 0, first = -1, guard_touched = 0;
  for (std::int64_t i = 0; i < m * n; ++i) {
    if (!std::isfinite(half_to_double(out[static_cast<std::size_t>(i)], dtype)) && bad++ == 0) first = i;
  }
  for (std::int64_t i = m * n; i < m * n + kOutputGuard; ++i)
    guard_touched += out[static_cast<std::size_t>(i)] != kPoison;
  if (bad == 0 && guard_touched == 0) return {};
  return std::to_string(bad) + " outputs unwritten or not finite (first at row " + std::to_string(first / n) +
         ", col " + std::to_string(first % n) + "), " + std::to_string(guard_touched) +
         " elements written past the end";
}

// ---- judging a result

// Errors against float64, pooled over the draws of one case: a small output (M = 1, H = 128 has 128 elements) gives
// too few rounding errors for a ratio of two L2 norms to be stable, so small cases draw fresh routings and
// activations until at least kMinPooledOutputs outputs are judged together.
constexpr std::int64_t kMinPooledOutputs = 8192;

struct MoeErrors {
  L2Error ours, emulation;
  double worst_row = 0;  // ours, the worst token row's relative error
  std::string worst_row_where;
  bool rerun_identical = true;
};

void measure(MoeErrors& errors, const std::vector<std::uint16_t>& ours, DType dtype,
             const std::vector<double>& reference, const std::vector<double>& emulated, std::int64_t m, std::int64_t n,
             const std::string& where) {
  for (std::int64_t row = 0; row < m; ++row) {
    L2Error row_error;
    for (std::int64_t col = 0; col < n; ++col) {
      const auto i = static_cast<std::size_t>(row * n + col);
      double value = half_to_double(ours[i], dtype);
      if (!std::isfinite(value)) value = std::numeric_limits<double>::infinity();
      row_error.add(value, reference[i]);
      errors.emulation.add(emulated[i], reference[i]);
    }
    errors.ours.merge(row_error);
    if (!(row_error.rel() <= errors.worst_row)) {
      errors.worst_row = row_error.rel();
      errors.worst_row_where = where + " token " + std::to_string(row);
    }
  }
}

MoeErrors measure(const std::vector<std::uint16_t>& ours, DType dtype, const std::vector<double>& reference,
                  const std::vector<double>& emulated, std::int64_t m, std::int64_t n) {
  MoeErrors errors;
  measure(errors, ours, dtype, reference, emulated, m, n, "");
  return errors;
}

void expect_within_the_bar(const MoeErrors& err, DType dtype, const std::string& name, int draws) {
  const double rel = err.ours.rel(), rel_emulation = err.emulation.rel();
  std::printf("[ moe ] %-48s %s draws=%-3d rel=%.3e rel_emulation=%.3e ratio=%.3f worst_row=%.3e rerun_identical=%s\n",
              name.c_str(), dtype_name(dtype), draws, rel, rel_emulation, rel / rel_emulation, err.worst_row,
              err.rerun_identical ? "yes" : "no");
  EXPECT_TRUE(err.rerun_identical) << "two applies of the same inputs differ";
  EXPECT_LT(rel_emulation, dtype == DType::fp16 ? 5e-3 : 3e-2) << "the emulation itself is off";
  EXPECT_LE(rel, kEmulationErrorFactor * rel_emulation + kRelErrorSlack) << "rel_emulation=" << rel_emulation;
  EXPECT_LE(err.worst_row, kWorstRowRelError) << err.worst_row_where;
}

// Applies twice per dtype (each on a freshly poisoned output) and adds both dtypes' errors to `errors`.
void apply_and_measure(const MoeUnderTest& layer, bool bias, const ops::MoePhaseOptions& variant, MoeInputs& in,
                       const std::vector<double>& x, const MoeRouting& routing, const std::string& where,
                       MoeErrors (&errors)[2]) {
  const std::vector<double> reference = moe_reference(layer.host, bias, x, routing);
  for (DType dtype : {DType::fp16, DType::bf16}) {
    SCOPED_TRACE(dtype_name(dtype));
    std::vector<std::uint16_t> ours[2];
    for (auto& result : ours) {
      result = apply_once(layer.prepared(bias), in, dtype, session().stream.get(), variant);
      const std::string problem = unwritten_or_non_finite(result, dtype, in.m, in.hidden);
      ASSERT_TRUE(problem.empty()) << problem;
    }
    MoeErrors& pooled = errors[dtype == DType::bf16 ? 1 : 0];
    if (ours[0] != ours[1]) {
      pooled.rerun_identical = false;
      std::int64_t differing = 0;
      for (std::size_t i = 0; i < ours[0].size(); ++i) {
        if (ours[0][i] == ours[1][i]) continue;
        if (differing++ < 4) {
          std::printf("[ moe ] rerun differs at token %lld col %lld: 0x%04x vs 0x%04x\n",
                      static_cast<long long>(static_cast<std::int64_t>(i) / in.hidden),
                      static_cast<long long>(static_cast<std::int64_t>(i) % in.hidden), ours[0][i], ours[1][i]);
        }
      }
      std::printf("[ moe ] rerun differs in %lld of %zu elements\n", static_cast<long long>(differing), ours[0].size());
    }
    const std::vector<double> emulated = moe_reference(layer.host, bias, x, routing, dtype);
    measure(pooled, ours[0], dtype, reference, emulated, in.m, in.hidden, where);
  }
}

// ---- end to end, one test per layer shape (its experts generated and prepared once)

struct MoeCase {
  std::int64_t m = 1;
  int topk = 1;
  RoutingKind routing = RoutingKind::uniform;
  bool bias = false;
  bool separate_activation = false;  // the fused epilogue's comparison kernel (bench_moe --separate-activation)
};

struct MoeShape {
  const char* name;
  std::int64_t experts, hidden, intermediate;
  Activation activation;
};

void run_case(const MoeUnderTest& layer, const MoeShape& shape, const MoeCase& c) {
  const std::string name = std::string(shape.name) + "_M" + std::to_string(c.m) + "_top" + std::to_string(c.topk) +
                           "_" + routing_kind_name(c.routing) + (c.bias ? "_bias" : "");
  SCOPED_TRACE(name);
  const int draws = static_cast<int>(std::max<std::int64_t>(1, kMinPooledOutputs / (c.m * shape.hidden)));
  MoeErrors errors[2];
  for (int draw = 0; draw < draws; ++draw) {
    const std::string where = name + " draw " + std::to_string(draw);
    const MoeRouting routing = make_routing(c.m, c.topk, shape.experts, c.routing, seed_for(where + "/routing"));
    const std::vector<double> x = moe_activations(c.m, shape.hidden, seed_for(where + "/x"));
    MoeInputs in = upload_inputs(x, routing, shape.hidden);
    apply_and_measure(layer, c.bias, ops::MoePhaseOptions{c.separate_activation}, in, x, routing, where, errors);
    if (::testing::Test::HasFatalFailure()) return;
  }
  expect_within_the_bar(errors[0], DType::fp16, name, draws);
  expect_within_the_bar(errors[1], DType::bf16, name, draws);
}

void run_shape(const MoeShape& shape, const std::vector<MoeCase>& cases) {
  SCOPED_TRACE(seed_trace());
  const bool any_bias = std::any_of(cases.begin(), cases.end(), [](const MoeCase& c) { return c.bias; });
  const std::unique_ptr<MoeUnderTest> layer =
      make_under_test(shape.name, shape.experts, shape.hidden, shape.intermediate, shape.activation, any_bias);
  for (const MoeCase& c : cases) run_case(*layer, shape, c);
}

class MoeApply : public ::testing::Test {
 protected:
  void SetUp() override { MARLIN_JIT_SKIP_WITHOUT_MARLIN_GPU(); }
};

// clang-format off: one case per line group, as the shapes read
using RK = RoutingKind;

TEST_F(MoeApply, gated_odd_multiples_of_16_e8_h208_i80) {
  run_shape({"gated_e8_h208_i80", 8, 208, 80, Activation::silu_gated}, {{1, 1, RK::uniform, false},
                                                                        {1, 2, RK::uniform, true},
                                                                        {7, 2, RK::uniform, true},
                                                                        {64, 1, RK::one_expert, false},
                                                                        {64, 2, RK::skewed, true},
                                                                        {64, 2, RK::idle_experts, false},
                                                                        {512, 2, RK::skewed, false},
                                                                        {512, 2, RK::uniform, true},
                                                                        {2048, 8, RK::uniform, false}});
}

TEST_F(MoeApply, relu2_odd_multiples_of_16_e16_h208_i464) {
  run_shape({"relu2_e16_h208_i464", 16, 208, 464, Activation::relu2}, {{1, 2, RK::uniform, true},
                                                                       {7, 6, RK::skewed, false},
                                                                       {64, 6, RK::idle_experts, true},
                                                                       {64, 1, RK::one_expert, true},
                                                                       {512, 8, RK::skewed, false},
                                                                       {512, 6, RK::uniform, true}});
}

TEST_F(MoeApply, relu2_nemotron_like_e8_h2688_i464) {
  run_shape({"relu2_e8_h2688_i464", 8, 2688, 464, Activation::relu2}, {{1, 6, RK::uniform, false},
                                                                       {7, 6, RK::skewed, false},
                                                                       {64, 6, RK::skewed, false},
                                                                       {512, 6, RK::uniform, false}});
}

TEST_F(MoeApply, gated_mixtral_like_e8_h4096_i1536_small_m) {
  run_shape({"gated_e8_h4096_i1536", 8, 4096, 1536, Activation::silu_gated},
            {{1, 2, RK::uniform, false}, {7, 2, RK::uniform, false}, {64, 2, RK::skewed, false}});
}

// The separate activation kernel the fused epilogue is measured against computes the same layer (its numbers are
// only meaningful if it does).
TEST_F(MoeApply, separate_activation_kernel_meets_the_same_bar) {
  run_shape({"gated_e8_h208_i80_separate", 8, 208, 80, Activation::silu_gated},
            {{7, 2, RK::uniform, false, true}, {512, 2, RK::uniform, false, true}});
  run_shape({"relu2_e16_h208_i464_separate", 16, 208, 464, Activation::relu2},
            {{1, 2, RK::uniform, false, true}, {512, 6, RK::skewed, false, true}});
}

// The real expert sizes: Nemotron-H's unsharded down projection (I = 1856) and a Mixtral-like gated expert
// (I = 14336; two experts keep the host checkpoint generation and the float64 reference affordable).
TEST_F(MoeApply, relu2_nemotron_unsharded_e8_h2688_i1856) {
  run_shape({"relu2_e8_h2688_i1856", 8, 2688, 1856, Activation::relu2},
            {{1, 6, RK::uniform, false}, {7, 6, RK::uniform, true}, {64, 6, RK::skewed, false}});
}

TEST_F(MoeApply, gated_mixtral_like_e2_h4096_i14336_small_m) {
  run_shape({"gated_e2_h4096_i14336", 2, 4096, 14336, Activation::silu_gated},
            {{1, 2, RK::uniform, false}, {7, 1, RK::uniform, true}});
}

TEST_F(MoeApply, gated_e64_h512_i192_topk6) {
  run_shape({"gated_e64_h512_i192", 64, 512, 192, Activation::silu_gated},
            {{1, 6, RK::uniform, true}, {64, 6, RK::idle_experts, false}, {512, 6, RK::uniform, false}});
}

TEST_F(MoeApply, relu2_many_experts_e128_h256_i128) {
  run_shape({"relu2_e128_h256_i128", 128, 256, 128, Activation::relu2}, {{1, 6, RK::uniform, true},
                                                                         {7, 6, RK::skewed, true},
                                                                         {64, 6, RK::skewed, false},
                                                                         {512, 6, RK::idle_experts, true},
                                                                         {2048, 6, RK::uniform, true}});
}

TEST_F(MoeApply, gated_e512_topk22_h128_i64) {
  run_shape({"gated_e512_h128_i64", 512, 128, 64, Activation::silu_gated},
            {{1, 22, RK::uniform, true}, {64, 22, RK::skewed, false}, {512, 22, RK::uniform, true}});
}
// clang-format on

// Overwrites the routing in `in`'s buffers, ordered on `stream`.
void write_routing(MoeInputs& in, const MoeRouting& routing, cudaStream_t stream) {
  MARLIN_JIT_CUDA(cudaMemcpyAsync(in.ids.get(), routing.ids.data(), in.ids.bytes(), cudaMemcpyHostToDevice, stream));
  MARLIN_JIT_CUDA(
      cudaMemcpyAsync(in.weights.get(), routing.weights.data(), in.weights.bytes(), cudaMemcpyHostToDevice, stream));
  MARLIN_JIT_CUDA(cudaStreamSynchronize(stream));
}

// ---- CUDA graphs

// Captures one apply on `stream` in a graph (global capture mode: nothing unsafe may happen during capture, in
// any thread), after the eager call that sized the stream's scratch.
cudaGraphExec_t capture_apply(const PreparedNvfp4Moe& layer, const MoeApplyArgs& args, cudaStream_t stream) {
  MARLIN_JIT_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  std::exception_ptr error;
  try {
    apply_nvfp4_moe(session().runtime, layer, args, stream);
  } catch (...) {
    error = std::current_exception();
  }
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
  if (error) {
    if (graph != nullptr) cudaGraphDestroy(graph);
    ADD_FAILURE() << "apply threw during capture: " << describe(error);
    return nullptr;
  }
  MARLIN_JIT_CUDA(ended);
  cudaGraphExec_t exec = nullptr;
  MARLIN_JIT_CUDA(cudaGraphInstantiate(&exec, graph, 0));
  cudaGraphDestroy(graph);
  return exec;
}

// How many of `replays` graph launches, each onto a freshly poisoned output, differ from `eager` in any bit.
int replays_differing(cudaGraphExec_t exec, MoeInputs& in, const std::vector<std::uint16_t>& eager, int replays,
                      cudaStream_t stream) {
  int differing = 0;
  for (int replay = 0; replay < replays; ++replay) {
    in.out.fill_bytes(0xFF, stream);
    MARLIN_JIT_CUDA(cudaGraphLaunch(exec, stream));
    MARLIN_JIT_CUDA(cudaStreamSynchronize(stream));
    differing += in.out.to_host<std::uint16_t>() != eager ? 1 : 0;
  }
  return differing;
}

TEST(MoeGraph, replays_are_bitwise_equal_to_eager_calls_also_after_the_routing_changes) {
  MARLIN_JIT_SKIP_WITHOUT_MARLIN_GPU();
  SCOPED_TRACE(seed_trace());
  const std::unique_ptr<MoeUnderTest> layer = make_under_test("graph", 8, 1024, 512, Activation::silu_gated, true);
  const std::int64_t m = 64;
  const int topk = 2;
  const MoeRouting first = make_routing(m, topk, 8, RoutingKind::uniform, seed_for("graph/routing1"));
  const MoeRouting second = make_routing(m, topk, 8, RoutingKind::one_expert, seed_for("graph/routing2"));
  const std::vector<double> x = moe_activations(m, 1024, seed_for("graph/x"));
  MoeInputs in = upload_inputs(x, first, 1024);
  CudaStream stream;
  for (DType dtype : {DType::bf16, DType::fp16}) {
    SCOPED_TRACE(dtype_name(dtype));
    write_routing(in, first, stream.get());
    const std::vector<std::uint16_t> eager = apply_once(layer->prepared(true), in, dtype, stream.get());
    ASSERT_TRUE(unwritten_or_non_finite(eager, dtype, m, 1024).empty());
    const cudaGraphExec_t exec = capture_apply(layer->prepared(true), apply_args(in, dtype), stream.get());
    ASSERT_NE(exec, nullptr);
    EXPECT_EQ(replays_differing(exec, in, eager, 100, stream.get()), 0) << "of 100 replays";
    // New routing written into the same buffers (another padded total): the graph follows it.
    write_routing(in, second, stream.get());
    const std::vector<std::uint16_t> eager_second = apply_once(layer->prepared(true), in, dtype, stream.get());
    EXPECT_NE(eager_second, eager);
    EXPECT_EQ(replays_differing(exec, in, eager_second, 10, stream.get()), 0) << "of 10 replays, second routing";
    cudaGraphExecDestroy(exec);
    const std::vector<double> emulated = moe_reference(layer->host, true, x, second, dtype);
    const MoeErrors err = measure(eager_second, dtype, moe_reference(layer->host, true, x, second), emulated, m, 1024);
    EXPECT_LE(err.ours.rel(), kEmulationErrorFactor * err.emulation.rel() + kRelErrorSlack);
  }
  EXPECT_EQ(moe_routing_errors(stream.get()), 0u);
}

// ---- out-of-range routing ids

// The routing with each out-of-range id replaced by a valid expert whose weight is 0: the same sums, exactly.
MoeRouting zero_weight_instead_of_invalid(MoeRouting routing, std::int64_t experts) {
  for (std::size_t s = 0; s < routing.ids.size(); ++s) {
    if (routing.ids[s] >= 0 && routing.ids[s] < experts) continue;
    routing.ids[s] = static_cast<std::int32_t>(s % static_cast<std::size_t>(experts));
    routing.weights[s] = 0.0f;
  }
  return routing;
}

TEST(MoeRoutingIds, out_of_range_ids_contribute_exactly_zero_and_are_counted) {
  MARLIN_JIT_SKIP_WITHOUT_MARLIN_GPU();
  SCOPED_TRACE(seed_trace());
  const std::int64_t experts = 8, m = 64, hidden = 208;
  const int topk = 4;
  const std::unique_ptr<MoeUnderTest> layer = make_under_test("ids", experts, hidden, 80, Activation::silu_gated, true);
  MoeRouting bad = make_routing(m, topk, experts, RoutingKind::with_invalid, seed_for("ids/routing"));
  bad.ids[5] = std::numeric_limits<std::int32_t>::min();
  bad.ids[9] = std::numeric_limits<std::int32_t>::max();
  for (int j = 0; j < topk; ++j) bad.ids[static_cast<std::size_t>(3 * topk + j)] = j % 2 == 0 ? -1 : 8;  // token 3
  const auto invalid = static_cast<std::uint64_t>(
      std::count_if(bad.ids.begin(), bad.ids.end(), [&](std::int32_t id) { return id < 0 || id >= experts; }));
  const MoeRouting zeroed = zero_weight_instead_of_invalid(bad, experts);
  const std::vector<double> x = moe_activations(m, hidden, seed_for("ids/x"));
  MoeInputs in = upload_inputs(x, bad, hidden);
  CudaStream stream;
  const std::vector<std::uint16_t> ours = apply_once(layer->prepared(true), in, DType::bf16, stream.get());
  EXPECT_EQ(moe_routing_errors(stream.get()), invalid);
  EXPECT_EQ(moe_routing_errors(stream.get()), 0u) << "the count resets once reported";
  write_routing(in, zeroed, stream.get());
  const std::vector<std::uint16_t> with_zero_weights = apply_once(layer->prepared(true), in, DType::bf16, stream.get());
  std::int64_t differing = 0;
  for (std::int64_t i = 0; i < m * hidden; ++i) {
    const auto at = static_cast<std::size_t>(i);
    differing += half_to_double(ours[at], DType::bf16) != half_to_double(with_zero_weights[at], DType::bf16) ? 1 : 0;
  }
  EXPECT_EQ(differing, 0) << "outputs differ from the routing with zero weights instead of the bad ids";
  for (std::int64_t h = 0; h < hidden; ++h) {
    ASSERT_EQ(ours[static_cast<std::size_t>(3 * hidden + h)], 0u) << "token 3 (no valid id) column " << h;
  }
  const std::vector<double> emulated = moe_reference(layer->host, true, x, bad, DType::bf16);
  const MoeErrors err = measure(ours, DType::bf16, moe_reference(layer->host, true, x, bad), emulated, m, hidden);
  EXPECT_LE(err.ours.rel(), kEmulationErrorFactor * err.emulation.rel() + kRelErrorSlack);
  EXPECT_EQ(moe_routing_errors(stream.get()), 0u);
}

TEST(MoeRoutingIds, the_next_apply_on_the_stream_refuses_after_bad_ids) {
  MARLIN_JIT_SKIP_WITHOUT_MARLIN_GPU();
  SCOPED_TRACE(seed_trace());
  const std::int64_t experts = 8, m = 16, hidden = 208;
  const std::unique_ptr<MoeUnderTest> layer = make_under_test("ids", experts, hidden, 80, Activation::silu_gated, true);
  const MoeRouting bad = make_routing(m, 2, experts, RoutingKind::with_invalid, seed_for("refuse/routing"));
  MoeInputs in = upload_inputs(moe_activations(m, hidden, seed_for("refuse/x")), bad, hidden);
  CudaStream stream;                                                  // fresh: no earlier call on it
  apply_once(layer->prepared(false), in, DType::fp16, stream.get());  // waits, so the count is on the host
  write_routing(in, zero_weight_instead_of_invalid(bad, experts), stream.get());
  const CaptureOutcome refused = capture_enqueued_work(stream.get(), [&] {
    apply_nvfp4_moe(session().runtime, layer->prepared(false), apply_args(in, DType::fp16), stream.get());
  });
  const std::optional<ConfigError> error = config_error(refused.error);
  ASSERT_TRUE(error.has_value()) << "expected ConfigError, got: " << describe(refused.error);
  EXPECT_EQ(error->rule(), "moe_topk_ids_range") << error->what();
  EXPECT_EQ(refused.nodes, 0u) << "work was enqueued before the refusal";
  EXPECT_NO_THROW(apply_once(layer->prepared(false), in, DType::fp16, stream.get())) << "the count was reported";
  EXPECT_EQ(moe_routing_errors(stream.get()), 0u);
}

// ---- the token alignment kernel

struct AlignBuffers {
  std::int64_t slots = 0, experts = 0, max_blocks = 0;
  int block_rows = 16;
  DeviceBuffer ids, sorted_rows, block_experts, padded_total, invalid, invalid_mirror;
};

AlignBuffers align_buffers(std::int64_t slots, std::int64_t experts, int block_rows) {
  AlignBuffers b;
  b.slots = slots;
  b.experts = experts;
  b.block_rows = block_rows;
  b.max_blocks = ops::worst_case_blocks(slots, experts, block_rows);
  b.ids = DeviceBuffer(static_cast<std::size_t>(slots) * 4);
  b.sorted_rows = DeviceBuffer(static_cast<std::size_t>(b.max_blocks * block_rows) * 4);
  b.block_experts = DeviceBuffer(static_cast<std::size_t>(b.max_blocks) * 4);
  b.padded_total = DeviceBuffer(4);
  b.invalid = DeviceBuffer(4);
  b.invalid_mirror = DeviceBuffer(4);
  for (DeviceBuffer* buffer : {&b.sorted_rows, &b.block_experts, &b.padded_total, &b.invalid_mirror}) {
    buffer->fill_bytes(0xAB, session().stream.get());  // poison: the kernel must write every entry
  }
  return b;
}

// moe_align launched as apply launches it (one block of kMoeAlignThreads); the invalid count starts at 7, so the
// result's `invalid` is what this launch added.
MoeAlignment gpu_align(AlignBuffers& b, const std::vector<std::int32_t>& ids) {
  Session& s = session();
  const unsigned int invalid_before = 7;
  MARLIN_JIT_CUDA(cudaMemcpyAsync(b.ids.get(), ids.data(), b.ids.bytes(), cudaMemcpyHostToDevice, s.stream.get()));
  MARLIN_JIT_CUDA(cudaMemcpyAsync(b.invalid.get(), &invalid_before, 4, cudaMemcpyHostToDevice, s.stream.get()));
  const int* topk_ids = b.ids.as<int>();
  int slots = static_cast<int>(b.slots), experts = static_cast<int>(b.experts), block_rows = b.block_rows;
  int max_blocks = static_cast<int>(b.max_blocks);
  int* sorted_rows = b.sorted_rows.as<int>();
  int* block_experts = b.block_experts.as<int>();
  int* padded_total = b.padded_total.as<int>();
  auto* invalid = b.invalid.as<unsigned int>();
  auto* invalid_mirror = b.invalid_mirror.as<unsigned int>();  // device memory stands in for the mapped host word
  void* args[] = {&topk_ids,    &slots,         &experts,      &block_rows, &max_blocks,
                  &sorted_rows, &block_experts, &padded_total, &invalid,    &invalid_mirror};
  KernelSpec spec;
  spec.kind = KernelKind::prep;
  spec.sm = gpu_info().sm;
  spec.prep_op = kPrepMoeAlign;
  LaunchDims dims;
  dims.block[0] = kMoeAlignThreads;
  s.runtime.get_kernel(request_for(spec)).launch(dims, s.stream.get(), args);
  s.stream.synchronize();
  MoeAlignment out;
  out.sorted_rows = b.sorted_rows.to_host<std::int32_t>();
  out.block_experts = b.block_experts.to_host<std::int32_t>();
  out.padded_total = b.padded_total.to_host<std::int32_t>()[0];
  const unsigned int invalid_after = b.invalid.to_host<unsigned int>()[0];
  out.invalid = invalid_after - invalid_before;
  if (out.invalid > 0) {
    EXPECT_EQ(b.invalid_mirror.to_host<unsigned int>()[0], invalid_after) << "the mirror shows the new count";
  }
  return out;
}

void expect_gpu_alignment_matches(AlignBuffers& b, const std::vector<std::int32_t>& ids, const std::string& what) {
  MoeAlignment gpu = gpu_align(b, ids);
  const std::vector<std::string> broken =
      alignment_violations(ids, b.slots, b.experts, b.block_rows, b.max_blocks, gpu);
  std::string listed;
  for (const std::string& line : broken) listed += "\n  " + line;
  EXPECT_TRUE(broken.empty()) << what << listed;
  // Slots of a run are in slot order (stable), so the kernel's tables equal the reference's exactly: the same bits on
  // every launch, which the layer's bitwise determinism rests on.
  const MoeAlignment want = moe_align_reference(ids, b.slots, b.experts, b.block_rows, b.max_blocks);
  EXPECT_EQ(gpu.padded_total, want.padded_total) << what;
  EXPECT_EQ(gpu.invalid, want.invalid) << what;
  EXPECT_TRUE(gpu.block_experts == want.block_experts) << what << ": block experts differ";
  EXPECT_TRUE(gpu.sorted_rows == want.sorted_rows) << what << ": sorted rows differ";
}

struct AlignCase {
  const char* name;
  std::int64_t m;
  int topk;
  std::int64_t experts;
  RoutingKind routing;
  int block_rows;
};

TEST(MoeAlignKernel, equals_the_cpu_reference_and_rewrites_reused_buffers) {
  MARLIN_JIT_SKIP_WITHOUT_MARLIN_GPU();
  SCOPED_TRACE(seed_trace());
  // clang-format off
  const AlignCase cases[] = {
      {"m1", 1, 1, 8, RK::uniform, 16},
      {"uniform", 64, 2, 8, RK::uniform, 16},
      {"skewed", 512, 6, 64, RK::skewed, 32},
      {"idle_experts", 300, 4, 128, RK::idle_experts, 48},
      {"one_expert_topk1", 2048, 1, 4, RK::one_expert, 64},
      {"invalid_ids", 257, 8, 16, RK::with_invalid, 64},
      {"slots_1024", 128, 8, 32, RK::uniform, 16},
      {"slots_1025", 1025, 1, 3, RK::skewed, 16},
      {"e512_topk22", 512, 22, 512, RK::skewed, 16},
      {"e512_topk22_block64", 64, 22, 512, RK::uniform, 64},
      {"e1024", 1024, 8, 1024, RK::uniform, 64},
      {"m4096_topk8", 4096, 8, 128, RK::skewed, 64},
  };
  // clang-format on
  for (const AlignCase& c : cases) {
    std::vector<std::int32_t> ids = make_routing(c.m, c.topk, c.experts, c.routing, seed_for(c.name)).ids;
    if (c.routing == RK::with_invalid) {  // the int32 extremes too
      ids[1] = std::numeric_limits<std::int32_t>::min();
      ids[2] = std::numeric_limits<std::int32_t>::max();
    }
    AlignBuffers buffers = align_buffers(c.m * c.topk, c.experts, c.block_rows);
    expect_gpu_alignment_matches(buffers, ids, c.name);
    // The same buffers, not poisoned again, for another routing: every entry must be rewritten.
    const RoutingKind other = c.routing == RK::uniform ? RK::one_expert : RK::uniform;
    expect_gpu_alignment_matches(buffers,
                                 make_routing(c.m, c.topk, c.experts, other, seed_for(std::string(c.name) + "/2")).ids,
                                 std::string(c.name) + ", reused buffers");
  }
}

// ---- refusals

class MoeRefusals : public ::testing::Test {
 protected:
  void SetUp() override { MARLIN_JIT_SKIP_WITHOUT_MARLIN_GPU(); }

  // What preparing a checkpoint of the given sizes (over buffers large enough for any of them) throws and enqueues.
  static CaptureOutcome prepare_captured(std::int64_t experts, std::int64_t hidden, std::int64_t intermediate) {
    Session& s = session();
    const DeviceBuffer big(1 << 20);
    Nvfp4MoeCheckpoint c;
    c.experts = experts;
    c.hidden = hidden;
    c.intermediate = intermediate;
    c.activation = Activation::relu2;
    c.w1 = c.w1_scale = c.w2 = c.w2_scale = big.address();
    c.w1_scale_2.assign(static_cast<std::size_t>(std::max<std::int64_t>(experts, 0)), 1.0f);
    c.w2_scale_2 = c.w1_scale_2;
    return capture_enqueued_work(s.stream.get(), [&] { prepare_nvfp4_moe(s.runtime, c, s.stream.get()); });
  }
};

void expect_refused(const CaptureOutcome& outcome, const std::string& rule, const std::string& what) {
  const std::optional<ConfigError> error = config_error(outcome.error);
  EXPECT_TRUE(error.has_value()) << what << ": expected ConfigError " << rule << ", got: " << describe(outcome.error);
  if (error) {
    EXPECT_EQ(error->rule(), rule) << what << ": " << error->what();
  }
  EXPECT_EQ(outcome.nodes, 0u) << what << ": work was enqueued before the refusal";
}

TEST_F(MoeRefusals, prepare_refuses_bad_sizes_before_any_launch) {
  expect_refused(prepare_captured(0, 256, 128), "moe_experts", "E = 0");
  expect_refused(prepare_captured(2, 40, 128), "k_multiple_of_group", "H = 40");
  expect_refused(prepare_captured(2, 256, 40), "k_multiple_of_group", "I = 40");
}

TEST_F(MoeRefusals, apply_refuses_bad_arguments_before_any_launch) {
  Session& s = session();
  const std::unique_ptr<MoeUnderTest> layer = make_under_test("refusals", 4, 64, 64, Activation::relu2, false);
  const MoeRouting routing = make_routing(4, 4, 4, RoutingKind::uniform, seed_for("refusals/routing"));
  MoeInputs in = upload_inputs(moe_activations(4, 64, seed_for("refusals/x")), routing, 64);
  MoeApplyArgs too_many = apply_args(in, DType::bf16);
  too_many.topk = 5;  // > E = 4; refused before anything reads the ids
  MoeApplyArgs misaligned = apply_args(in, DType::bf16);
  misaligned.output += 2;
  MoeApplyArgs empty = apply_args(in, DType::bf16);
  empty.m = 0;
  const auto captured = [&](const MoeApplyArgs& args) {
    return capture_enqueued_work(s.stream.get(),
                                 [&] { apply_nvfp4_moe(s.runtime, layer->prepared(false), args, s.stream.get()); });
  };
  expect_refused(captured(too_many), "moe_topk", "topk 5 > E 4");
  expect_refused(captured(misaligned), "output_alignment", "output 2 bytes past 16-byte alignment");
  const CaptureOutcome nothing = captured(empty);
  EXPECT_FALSE(nothing.error) << "M = 0: " << describe(nothing.error);
  EXPECT_EQ(nothing.nodes, 0u) << "M = 0 enqueued work";
}

TEST_F(MoeRefusals, a_nan_scale_in_w2_of_the_last_expert_is_refused) {
  SCOPED_TRACE(seed_trace());
  Session& s = session();
  MoeHostLayer host = make_moe_layer(3, 64, 64, Activation::silu_gated, false, seed_for("nan_w2"));
  host.w2.back().weight_scale.back() = 0x7F;
  const DeviceCheckpoint d = upload_checkpoint(host);
  try {
    prepare_nvfp4_moe(s.runtime, checkpoint_view(host, d, false), s.stream.get());
    ADD_FAILURE() << "a NaN scale in W2 was accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.rule(), "nvfp4_scale_finite") << e.what();
    EXPECT_NE(std::string(e.what()).find("w2_scale"), std::string::npos) << "names the projection: " << e.what();
  }
}

}  // namespace
}  // namespace marlin_jit::test
