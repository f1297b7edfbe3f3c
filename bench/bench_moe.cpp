// bench_moe: apply_nvfp4_moe on a Nemotron-like (ReLU², non-gated) and a Qwen-like (SiLU, gated) MoE layer against
// cuBLAS GEMMs over the touched experts with dense weights in the same dtype, timed in the same run over rotating
// weight copies, with the per-phase split and the share of copy bandwidth. Prints a table; --csv writes rows.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>

#include "gpu_test_env.hpp"
#include "harness.hpp"
#include "marlin_jit/nvfp4_moe.hpp"
#include "marlin_jit/runtime.hpp"
#include "nvfp4_checkpoint.hpp"
#include "ops/nvfp4_moe_phases.hpp"
#include "results_csv.hpp"

// What is timed (a copy of this goes with the results; bench/results/README.md can quote it):
//  ours       one apply_nvfp4_moe call: token alignment, GEMM1 with the fused activation, GEMM2 weighted by top-k,
//             top-k sum into the output (everything the layer does). The split (align/gemm1/gemm2/sum) comes from a
//             separate run of ops::apply_nvfp4_moe_phased with an event after each phase. graph_us: the same call
//             captured once per weight copy in a CUDA graph and replayed (how engines run decode: no host launch gaps).
//  baseline   cuBLAS in the same dtype (fp32 compute) over the touched experts only: per touched expert e with c_e
//             routed rows, GEMM1 Y_e[c_e, N1] = X_e · W1_eᵀ, then GEMM2 O_e[c_e, H] = Z_e · W2_eᵀ, on rows already
//             gathered contiguously per expert (N1 = 2·I gated, I non-gated; Z_e is a separate buffer standing in for
//             the activation's output). Not timed: routing/alignment, the gather, the activation, the top-k weights
//             and the top-k sum. Timed two ways, the faster one reported: one cublasGemmGroupedBatchedEx per GEMM
//             (problems grouped by row count), and a loop of cublasGemmEx (every GEMM1, then every GEMM2).
// Weights rotate through copies so the experts touched at M = 1 come from HBM: copies = max(2, budget / layer size,
// 1 + 2·L2 / bytes touched at M = 1), for ours (--rotate-mb) and the dense weights (--dense-rotate-mb) separately.
// Checkpoint values: --distinct-experts realistic experts (ModelOpt-like quantization of N(0, 0.02) weights) are
// generated on the host and their bytes replicated to fill all experts; dense weights and activations are N(0, 1)
// values from one pool tiled over the buffers. Timing does not depend on the values.

namespace marlin_jit::bench {
namespace {

using test::CublasHandle;
using test::CudaStream;
using test::DeviceBuffer;

struct LayerShape {
  std::string name;
  std::int64_t experts = 0, topk = 0, hidden = 0, intermediate = 0;
  Activation activation = Activation::silu_gated;
  bool gated() const { return activation == Activation::silu_gated; }
  std::int64_t gemm1_n() const { return (gated() ? 2 : 1) * intermediate; }
  // Weights of one expert over both projections.
  double expert_weights() const {
    return static_cast<double>(gemm1_n()) * static_cast<double>(hidden) +
           static_cast<double>(hidden) * static_cast<double>(intermediate);
  }
};

const std::vector<LayerShape>& known_layers() {
  static const std::vector<LayerShape> layers = {
      {"nemotron", 128, 6, 2688, 1856, Activation::relu2},
      {"qwen", 128, 8, 4096, 1536, Activation::silu_gated},
  };
  return layers;
}

constexpr double kNvfp4BytesPerWeight = 0.5625;  // 4-bit code + one e4m3 scale per 16
const std::vector<std::string> kPhaseNames = {"align", "gemm1", "gemm2", "sum"};
// --separate-activation: the activation runs as its own kernel after a raw GEMM1 (its time joins gemm1's column).
const std::vector<std::string> kSeparatePhaseNames = {"align", "gemm1", "activation", "gemm2", "sum"};

struct Options {
  std::vector<DType> dtypes = {DType::bf16};
  std::vector<std::int64_t> ms = {1, 16, 64, 256, 1024, 4096};
  std::vector<std::string> layers = {"nemotron", "qwen"};
  std::vector<std::string> routings = {"uniform", "skewed"};
  int warmup = 5;
  int repeats = 30;
  double rotate_bytes = 2048.0 * (1 << 20);
  double dense_rotate_bytes = 4096.0 * (1 << 20);
  int distinct_experts = 4;
  std::string cache_dir;
  std::string csv;
  bool separate_activation = false;
};

// Returns the options, or the exit code when parsing ended the program (--help: 0, a bad option: 2).
std::variant<Options, int> parse_options(int argc, char** argv) {
  Options options;
  CLI::App app{"bench_moe: NVFP4 MoE layers against cuBLAS over the touched experts"};
  std::vector<std::string> dtypes;
  bool quick = false;
  double rotate_mb = options.rotate_bytes / (1 << 20);
  double dense_rotate_mb = options.dense_rotate_bytes / (1 << 20);
  app.add_option("--dtype", dtypes, "fp16, bf16 (default bf16)")
      ->delimiter(',')
      ->check(CLI::IsMember({"fp16", "bf16"}));
  app.add_option("--m", options.ms, "token counts M")->delimiter(',')->check(CLI::PositiveNumber);
  app.add_option("--layers", options.layers, "nemotron (128 experts, top-6, H 2688, I 1856, relu2), qwen (128, top-8, "
                                             "H 4096, I 1536, silu_gated)")
      ->delimiter(',')
      ->check(CLI::IsMember({"nemotron", "qwen"}));
  app.add_option("--routing", options.routings, "uniform (distinct random top-k per token), skewed (every token on "
                                                "experts 0..topk-1)")
      ->delimiter(',')
      ->check(CLI::IsMember({"uniform", "skewed"}));
  app.add_flag("--quick", quick, "10 repeats after 3 warm-ups instead of 30 after 5");
  app.add_option("--repeats", options.repeats)->check(CLI::PositiveNumber);
  app.add_option("--warmup", options.warmup)->check(CLI::NonNegativeNumber);
  app.add_option("--rotate-mb", rotate_mb, "prepared NVFP4 layer copies to rotate through (at least 2, and enough that "
                                           "M = 1 misses L2)");
  app.add_option("--dense-rotate-mb", dense_rotate_mb, "the same for the baseline's dense weights");
  app.add_option("--distinct-experts", options.distinct_experts,
                 "experts generated on the host; their bytes are replicated to fill all experts")
      ->check(CLI::PositiveNumber);
  app.add_option("--cache-dir", options.cache_dir);
  app.add_option("--csv", options.csv, "write one row per case");
  app.add_flag("--separate-activation", options.separate_activation,
               "ours with the activation as a separate kernel after a raw GEMM1 (the fused epilogue's comparison)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }
  if (!dtypes.empty()) {
    options.dtypes.clear();
    for (const std::string& name : dtypes) options.dtypes.push_back(name == "fp16" ? DType::fp16 : DType::bf16);
  }
  if (quick) {
    options.warmup = 3;
    options.repeats = 10;
  }
  options.rotate_bytes = rotate_mb * (1 << 20);
  options.dense_rotate_bytes = dense_rotate_mb * (1 << 20);
  return options;
}

// Copies of a weight set to rotate through: at least 2, at least budget / size, and enough that the other copies'
// bytes touched at M = 1 flush twice the L2 between two uses of one copy.
std::int64_t copies_for(double bytes_per_copy, double touched_at_m1, double budget_bytes, double l2_bytes) {
  const auto by_budget = static_cast<std::int64_t>(std::ceil(budget_bytes / bytes_per_copy));
  const auto by_l2 = 1 + static_cast<std::int64_t>(std::ceil(2.0 * l2_bytes / touched_at_m1));
  return std::max<std::int64_t>({2, by_budget, by_l2});
}

// Fills `bytes` at `dst` with the pool's bytes repeated: the pool once, then doubling what is already there.
void tile_pool(void* dst, std::size_t bytes, const DeviceBuffer& pool, cudaStream_t stream) {
  auto* out = static_cast<unsigned char*>(dst);
  std::size_t filled = std::min(bytes, pool.bytes());
  MARLIN_JIT_CUDA(cudaMemcpyAsync(out, pool.get(), filled, cudaMemcpyDeviceToDevice, stream));
  while (filled < bytes) {
    const std::size_t step = std::min(filled, bytes - filled);
    MARLIN_JIT_CUDA(cudaMemcpyAsync(out + filled, out, step, cudaMemcpyDeviceToDevice, stream));
    filled += step;
  }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Peak of (total − free) device memory over the samples taken, and where it was taken.
struct MemoryPeak {
  double bytes = 0;
  std::string where;
  void sample(const std::string& label) {
    std::size_t free = 0, total = 0;
    if (cudaMemGetInfo(&free, &total) != cudaSuccess) {
      cudaGetLastError();
      return;
    }
    const double used = static_cast<double>(total - free);
    if (used > bytes) {
      bytes = used;
      where = label;
    }
  }
};

// ---- routing

struct Routing {
  std::vector<int> ids;         // [m][topk]
  std::vector<float> weights;   // [m][topk], each row sums to 1
  std::vector<std::int64_t> counts;  // rows routed to each expert
  std::vector<int> touched;     // experts with a row, ascending
};

Routing make_routing(const LayerShape& layer, std::int64_t m, const std::string& kind) {
  Routing r;
  const auto topk = static_cast<std::size_t>(layer.topk);
  r.ids.resize(static_cast<std::size_t>(m) * topk);
  r.weights.resize(r.ids.size());
  for (std::int64_t t = 0; t < m; ++t) {
    int* ids = &r.ids[static_cast<std::size_t>(t) * topk];
    float* weights = &r.weights[static_cast<std::size_t>(t) * topk];
    if (kind == "skewed") {
      for (std::size_t j = 0; j < topk; ++j) {
        ids[j] = static_cast<int>(j);
        weights[j] = 1.0f / static_cast<float>(topk);
      }
      continue;
    }
    // One stream per token: the routing of M tokens is a prefix of the routing of more.
    test::TestRng rng(test::stream_seed(2027, static_cast<std::uint64_t>(t)));
    double sum = 0;
    for (std::size_t j = 0; j < topk; ++j) {
      int expert = 0;
      do {
        expert = static_cast<int>(rng.below(static_cast<unsigned>(layer.experts)));
      } while (std::find(ids, ids + j, expert) != ids + j);
      ids[j] = expert;
      weights[j] = static_cast<float>(0.05 + rng.uniform());
      sum += static_cast<double>(weights[j]);
    }
    for (std::size_t j = 0; j < topk; ++j) weights[j] = static_cast<float>(static_cast<double>(weights[j]) / sum);
  }
  r.counts.assign(static_cast<std::size_t>(layer.experts), 0);
  for (int id : r.ids) ++r.counts[static_cast<std::size_t>(id)];
  for (std::int64_t e = 0; e < layer.experts; ++e) {
    if (r.counts[static_cast<std::size_t>(e)] > 0) r.touched.push_back(static_cast<int>(e));
  }
  return r;
}

// ---- the NVFP4 layer

// The checkpoint in device memory, stacked over experts: `distinct` experts generated on the host, the rest copies
// of them (expert e holds expert e % distinct's bytes and global scales).
struct DeviceCheckpoint {
  DeviceBuffer w1, w1_scale, w2, w2_scale;
  Nvfp4MoeCheckpoint view;
};

DeviceCheckpoint make_checkpoint(const LayerShape& layer, int distinct, cudaStream_t stream) {
  const std::int64_t e_count = layer.experts, h = layer.hidden, i = layer.intermediate, n1 = layer.gemm1_n();
  distinct = static_cast<int>(std::min<std::int64_t>(distinct, e_count));
  DeviceCheckpoint c;
  const auto per_expert = [](std::int64_t n, std::int64_t k) {
    return std::pair<std::size_t, std::size_t>{static_cast<std::size_t>(n * (k / 2)),
                                               static_cast<std::size_t>(n * (k / 16))};
  };
  const auto [w1_bytes, w1_scale_bytes] = per_expert(n1, h);
  const auto [w2_bytes, w2_scale_bytes] = per_expert(h, i);
  const auto experts = static_cast<std::size_t>(e_count);
  c.w1 = DeviceBuffer(experts * w1_bytes);
  c.w1_scale = DeviceBuffer(experts * w1_scale_bytes);
  c.w2 = DeviceBuffer(experts * w2_bytes);
  c.w2_scale = DeviceBuffer(experts * w2_scale_bytes);
  std::vector<float> w1_global(experts), w2_global(experts);
  const auto put = [stream](const DeviceBuffer& dst, std::size_t offset, const std::vector<std::uint8_t>& src) {
    MARLIN_JIT_CUDA(cudaMemcpyAsync(dst.as<std::uint8_t>() + offset, src.data(), src.size(), cudaMemcpyHostToDevice,
                                    stream));
  };
  for (int d = 0; d < distinct; ++d) {
    const auto seed = static_cast<std::uint64_t>(d);
    const test::Nvfp4HostLayer w1 =
        test::make_layer(test::CheckpointKind::realistic, n1, h, test::stream_seed(2026, 2 * seed));
    const test::Nvfp4HostLayer w2 =
        test::make_layer(test::CheckpointKind::realistic, h, i, test::stream_seed(2026, 2 * seed + 1));
    const auto slot = static_cast<std::size_t>(d);
    put(c.w1, slot * w1_bytes, w1.weight);
    put(c.w1_scale, slot * w1_scale_bytes, w1.weight_scale);
    put(c.w2, slot * w2_bytes, w2.weight);
    put(c.w2_scale, slot * w2_scale_bytes, w2.weight_scale);
    w1_global[slot] = w1.global_scale;
    w2_global[slot] = w2.global_scale;
    MARLIN_JIT_CUDA(cudaStreamSynchronize(stream));  // before the host bytes go
  }
  for (std::size_t e = static_cast<std::size_t>(distinct); e < experts; ++e) {
    const std::size_t from = e % static_cast<std::size_t>(distinct);
    const auto copy = [&](const DeviceBuffer& buffer, std::size_t bytes) {
      MARLIN_JIT_CUDA(cudaMemcpyAsync(buffer.as<std::uint8_t>() + e * bytes, buffer.as<std::uint8_t>() + from * bytes,
                                      bytes, cudaMemcpyDeviceToDevice, stream));
    };
    copy(c.w1, w1_bytes);
    copy(c.w1_scale, w1_scale_bytes);
    copy(c.w2, w2_bytes);
    copy(c.w2_scale, w2_scale_bytes);
    w1_global[e] = w1_global[from];
    w2_global[e] = w2_global[from];
  }
  MARLIN_JIT_CUDA(cudaStreamSynchronize(stream));
  c.view.experts = e_count;
  c.view.hidden = h;
  c.view.intermediate = i;
  c.view.activation = layer.activation;
  c.view.w1 = c.w1.address();
  c.view.w1_scale = c.w1_scale.address();
  c.view.w2 = c.w2.address();
  c.view.w2_scale = c.w2_scale.address();
  c.view.w1_scale_2 = std::move(w1_global);
  c.view.w2_scale_2 = std::move(w2_global);
  return c;
}

// ---- the baseline

// One copy of every expert's dense weights: W1 [E][N1][H], W2 [E][H][I], in the activation dtype.
struct DenseWeights {
  DeviceBuffer w1, w2;
};

// Rows already gathered per expert (expert-sorted, contiguous): inputs X [slots][H] and Z [slots][I], outputs
// Y [slots][N1] and O [slots][H]. Sized for the largest M.
struct DenseActivations {
  DeviceBuffer x, y, z, o;
};

// The touched experts' GEMMs for one routing, over one dense copy, in the grouped call's terms. Row-major
// out[c][n] = in[c][k] · W[n][k]ᵀ is, column-major, outᵀ = op_T(W) · inᵀ: cuBLAS m = n, n = c, k = k.
struct GroupedGemm {
  std::vector<int> m, n, k, lda, ldb, ldc, group_size;  // per group
  std::vector<const void*> a, b;                        // per problem (host copies of the device arrays)
  std::vector<void*> c;
  DeviceBuffer pointers;  // a, b, c on the device, in that order
  const void* const* device_a() const { return static_cast<const void* const*>(pointers.get()); }
  const void* const* device_b() const { return device_a() + a.size(); }
  void* const* device_c() const { return static_cast<void* const*>(pointers.get()) + 2 * a.size(); }
};

struct BaselinePlan {
  GroupedGemm gemm1, gemm2;  // for one dense copy
};

// Problems grouped by row count (the grouped API shares m, n, k within a group); experts in ascending order.
BaselinePlan plan_baseline(const LayerShape& layer, const Routing& routing, const DenseWeights& weights,
                           const DenseActivations& act) {
  const std::int64_t h = layer.hidden, i = layer.intermediate, n1 = layer.gemm1_n();
  std::vector<std::int64_t> first_row(static_cast<std::size_t>(layer.experts), 0);
  std::int64_t row = 0;
  for (int e : routing.touched) {
    first_row[static_cast<std::size_t>(e)] = row;
    row += routing.counts[static_cast<std::size_t>(e)];
  }
  std::map<std::int64_t, std::vector<int>> by_count;
  for (int e : routing.touched) by_count[routing.counts[static_cast<std::size_t>(e)]].push_back(e);

  const auto* w1 = weights.w1.as<const std::uint16_t>();
  const auto* w2 = weights.w2.as<const std::uint16_t>();
  const auto* x = act.x.as<const std::uint16_t>();
  const auto* z = act.z.as<const std::uint16_t>();
  auto* y = act.y.as<std::uint16_t>();
  auto* o = act.o.as<std::uint16_t>();
  BaselinePlan plan;
  for (const auto& [count, experts] : by_count) {
    const auto add_group = [&](GroupedGemm& g, std::int64_t n_out, std::int64_t k_in) {
      g.m.push_back(static_cast<int>(n_out));
      g.n.push_back(static_cast<int>(count));
      g.k.push_back(static_cast<int>(k_in));
      g.lda.push_back(static_cast<int>(k_in));
      g.ldb.push_back(static_cast<int>(k_in));
      g.ldc.push_back(static_cast<int>(n_out));
      g.group_size.push_back(static_cast<int>(experts.size()));
    };
    add_group(plan.gemm1, n1, h);
    add_group(plan.gemm2, h, i);
    for (int e : experts) {
      const auto expert = static_cast<std::int64_t>(e);
      const std::int64_t r0 = first_row[static_cast<std::size_t>(e)];
      plan.gemm1.a.push_back(w1 + expert * n1 * h);
      plan.gemm1.b.push_back(x + r0 * h);
      plan.gemm1.c.push_back(y + r0 * n1);
      plan.gemm2.a.push_back(w2 + expert * h * i);
      plan.gemm2.b.push_back(z + r0 * i);
      plan.gemm2.c.push_back(o + r0 * h);
    }
  }
  for (GroupedGemm* g : {&plan.gemm1, &plan.gemm2}) {
    std::vector<const void*> all(g->a);
    all.insert(all.end(), g->b.begin(), g->b.end());
    all.insert(all.end(), g->c.begin(), g->c.end());
    g->pointers = DeviceBuffer::from_host(all);
  }
  return plan;
}

void enqueue_grouped(cublasHandle_t cublas, const GroupedGemm& g, cudaDataType type) {
  const std::size_t groups = g.m.size();
  const std::vector<cublasOperation_t> trans_a(groups, CUBLAS_OP_T), trans_b(groups, CUBLAS_OP_N);
  const std::vector<float> alpha(groups, 1.0f), beta(groups, 0.0f);
  MARLIN_JIT_CUBLAS(cublasGemmGroupedBatchedEx(cublas, trans_a.data(), trans_b.data(), g.m.data(), g.n.data(),
                                               g.k.data(), alpha.data(), g.device_a(), type, g.lda.data(),
                                               g.device_b(), type, g.ldb.data(), beta.data(), g.device_c(), type,
                                               g.ldc.data(), static_cast<int>(groups), g.group_size.data(),
                                               CUBLAS_COMPUTE_32F));
}

void enqueue_loop(cublasHandle_t cublas, const GroupedGemm& g, cudaDataType type) {
  const float alpha = 1, beta = 0;
  std::size_t problem = 0;
  for (std::size_t group = 0; group < g.m.size(); ++group) {
    for (int j = 0; j < g.group_size[group]; ++j, ++problem) {
      MARLIN_JIT_CUBLAS(cublasGemmEx(cublas, CUBLAS_OP_T, CUBLAS_OP_N, g.m[group], g.n[group], g.k[group], &alpha,
                                     g.a[problem], type, g.lda[group], g.b[problem], type, g.ldb[group], &beta,
                                     g.c[problem], type, g.ldc[group], CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    }
  }
}

// ---- the run

void print_header() {
  std::printf("%-5s %-8s %-7s %5s %5s | %9s %9s %8s | %7s %8s %8s %7s | %7s %6s | %9s %9s %9s %9s %7s %7s\n",
              "dtype", "layer", "routing", "M", "touch", "ours_us", "graph_us", "host_us", "align", "gemm1", "gemm2",
              "sum", "w_GB/s", "bw%", "grouped", "loop", "cublas_us", "cu_graph", "speedup", "graph_x");
}

struct Context {
  const Options& options;
  Runtime& runtime;
  CudaStream& stream;
  CublasHandle& cublas;
  double copy_gbps;
  double l2_bytes;
  ResultsCsv& csv;
  MemoryPeak& memory;
};

struct Case {
  const LayerShape& layer;
  DType dtype;
  const std::string& routing_kind;
  std::int64_t m;
};

struct LayerState {
  std::vector<PreparedNvfp4Moe> ours;
  std::vector<DenseWeights> dense;
  DenseActivations act;
  DeviceBuffer hidden, output;  // ours: [max M][H]
};

// Median of the host time spent enqueuing each timed call (µs).
double median_of(std::vector<double> values) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Times `enqueue(v)` replayed from CUDA graphs, one captured per variant v < variants (the rotated weight copies),
// as engines run decode steps: no host launch cost in the timing.
template <class Enqueue>
Timing time_graphs(cudaStream_t stream, int warmup, int repeats, int variants, Enqueue&& enqueue) {
  std::vector<cudaGraphExec_t> graphs;
  for (int v = 0; v < variants; ++v) {
    cudaGraph_t graph = nullptr;
    MARLIN_JIT_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    enqueue(v);
    MARLIN_JIT_CUDA(cudaStreamEndCapture(stream, &graph));
    cudaGraphExec_t exec = nullptr;
    MARLIN_JIT_CUDA(cudaGraphInstantiate(&exec, graph, 0));
    cudaGraphDestroy(graph);
    graphs.push_back(exec);
  }
  const Timing timing = time_on_stream(stream, warmup, repeats, [&](int i) {
    MARLIN_JIT_CUDA(cudaGraphLaunch(graphs[static_cast<std::size_t>(i) % graphs.size()], stream));
  });
  for (cudaGraphExec_t exec : graphs) cudaGraphExecDestroy(exec);
  return timing;
}

void run_case(Context& ctx, const Case& c, LayerState& state) {
  const LayerShape& layer = c.layer;
  const int warmup = ctx.options.warmup, repeats = ctx.options.repeats;
  cudaStream_t stream = ctx.stream.get();
  const Routing routing = make_routing(layer, c.m, c.routing_kind);
  const DeviceBuffer ids = DeviceBuffer::from_host(routing.ids);
  const DeviceBuffer weights = DeviceBuffer::from_host(routing.weights);
  // from_host copies on the legacy stream and the work runs on a non-blocking one: wait for every upload here.
  MARLIN_JIT_CUDA(cudaDeviceSynchronize());

  MoeApplyArgs args;
  args.hidden_states = state.hidden.address();
  args.topk_ids = ids.address();
  args.topk_weights = weights.address();
  args.output = state.output.address();
  args.m = c.m;
  args.topk = static_cast<int>(layer.topk);
  args.dtype = c.dtype;
  const auto layer_for = [&](int i) -> const PreparedNvfp4Moe& {
    return state.ours[static_cast<std::size_t>(i) % state.ours.size()];
  };

  const ops::MoePhaseOptions variant{ctx.options.separate_activation};
  const std::vector<std::string>& expected_phases = variant.separate_activation ? kSeparatePhaseNames : kPhaseNames;
  const auto apply_ours = [&](int i) { ops::apply_nvfp4_moe_phased(ctx.runtime, layer_for(i), args, stream, {}, variant); };
  std::vector<double> host_us;
  const Timing ours = time_on_stream(stream, warmup, repeats, [&](int i) {
    const auto start = std::chrono::steady_clock::now();
    apply_ours(i);
    if (i >= warmup) host_us.push_back(1e6 * seconds_since(start));
  });
  const Timing ours_graph =
      time_graphs(stream, warmup, repeats, static_cast<int>(state.ours.size()), [&](int v) { apply_ours(v); });
  std::vector<std::string> phase_names;
  PhaseTimings split = time_phases_on_stream(
      stream, warmup, repeats, static_cast<int>(expected_phases.size()), [&](int i, auto&& mark) {
        const bool record = phase_names.empty();
        std::vector<std::string> seen;
        ops::apply_nvfp4_moe_phased(
            ctx.runtime, layer_for(i), args, stream,
            [&](const char* phase) {
              seen.emplace_back(phase);
              mark();
            },
            variant);
        if (record) phase_names = seen;
      });
  if (phase_names != expected_phases) {
    std::string got;
    for (const std::string& name : phase_names) got += (got.empty() ? "" : ",") + name;
    throw std::runtime_error("apply_nvfp4_moe_phased reported phases " + got + ", expected " +
                             (variant.separate_activation ? "align,gemm1,activation,gemm2,sum" : "align,gemm1,gemm2,sum"));
  }
  if (variant.separate_activation) {  // the activation's median joins gemm1's column
    split.phases[1].median_us += split.phases[2].median_us;
    split.phases.erase(split.phases.begin() + 2);
  }
  ctx.memory.sample(layer.name + " " + test::dtype_name(c.dtype) + " " + c.routing_kind + " M=" +
                    std::to_string(c.m));

  // Baseline: one plan per dense copy (the pointers differ), rotated like ours.
  const cudaDataType type = c.dtype == DType::fp16 ? CUDA_R_16F : CUDA_R_16BF;
  std::vector<BaselinePlan> plans;
  for (const DenseWeights& copy : state.dense) plans.push_back(plan_baseline(layer, routing, copy, state.act));
  MARLIN_JIT_CUDA(cudaDeviceSynchronize());  // the pointer arrays' uploads
  const auto plan_for = [&](int i) -> const BaselinePlan& {
    return plans[static_cast<std::size_t>(i) % plans.size()];
  };
  cublasHandle_t cublas = ctx.cublas.get();
  double grouped_us = std::numeric_limits<double>::quiet_NaN();
  std::string grouped_error;
  try {
    enqueue_grouped(cublas, plan_for(0).gemm1, type);  // probe: a refusal (NOT_SUPPORTED) is reported, not fatal
    enqueue_grouped(cublas, plan_for(0).gemm2, type);
    MARLIN_JIT_CUDA(cudaStreamSynchronize(stream));
    grouped_us = time_on_stream(stream, warmup, repeats, [&](int i) {
                   enqueue_grouped(cublas, plan_for(i).gemm1, type);
                   enqueue_grouped(cublas, plan_for(i).gemm2, type);
                 }).median_us;
  } catch (const std::exception& e) {
    grouped_error = e.what();
    cudaStreamSynchronize(stream);
    cudaGetLastError();
  }
  const double loop_us = time_on_stream(stream, warmup, repeats, [&](int i) {
                           enqueue_loop(cublas, plan_for(i).gemm1, type);
                           enqueue_loop(cublas, plan_for(i).gemm2, type);
                         }).median_us;
  const bool grouped_wins = !std::isnan(grouped_us) && grouped_us <= loop_us;
  const double cublas_us = grouped_wins ? grouped_us : loop_us;
  const double cublas_graph_us =
      time_graphs(stream, warmup, repeats, static_cast<int>(plans.size()), [&](int v) {
        if (grouped_wins) {
          enqueue_grouped(cublas, plan_for(v).gemm1, type);
          enqueue_grouped(cublas, plan_for(v).gemm2, type);
        } else {
          enqueue_loop(cublas, plan_for(v).gemm1, type);
          enqueue_loop(cublas, plan_for(v).gemm2, type);
        }
      }).median_us;

  const auto touched = static_cast<double>(routing.touched.size());
  const double weight_bytes = touched * layer.expert_weights() * kNvfp4BytesPerWeight;
  const double seconds = ours_graph.median_us * 1e-6;  // the kernels' time, without host launch gaps
  const double weight_gbps = weight_bytes / seconds / 1e9;
  const double bw_share = weight_gbps / ctx.copy_gbps;
  const double slots = static_cast<double>(c.m * layer.topk);
  const double tflops = 2.0 * slots * layer.expert_weights() / seconds / 1e12;
  const double align_us = split.phases[0].median_us, gemm1_us = split.phases[1].median_us;
  const double gemm2_us = split.phases[2].median_us, sum_us = split.phases[3].median_us;
  const double speedup = cublas_us / ours.median_us;
  const double gemm_speedup = cublas_us / (gemm1_us + gemm2_us);
  const double host = median_of(host_us);

  const double graph_speedup = cublas_graph_us / ours_graph.median_us;
  std::printf("%-5s %-8s %-7s %5lld %5zu | %9.1f %9.1f %8.1f | %7.1f %8.1f %8.1f %7.1f | %7.0f %5.1f%% | %9.1f %9.1f "
              "%9.1f %9.1f %6.2fx %6.2fx\n",
              test::dtype_name(c.dtype), layer.name.c_str(), c.routing_kind.c_str(), static_cast<long long>(c.m),
              routing.touched.size(), ours.median_us, ours_graph.median_us, host, align_us, gemm1_us, gemm2_us, sum_us,
              weight_gbps, 100 * bw_share, grouped_us, loop_us, cublas_us, cublas_graph_us, speedup, graph_speedup);
  if (!grouped_error.empty()) std::printf("#   cublasGemmGroupedBatchedEx failed: %s\n", grouped_error.c_str());
  std::fflush(stdout);
  ctx.csv.add({test::dtype_name(c.dtype), layer.name, std::to_string(layer.experts), std::to_string(layer.topk),
               std::to_string(layer.hidden), std::to_string(layer.intermediate), to_string(layer.activation),
               c.routing_kind, std::to_string(c.m), std::to_string(routing.touched.size()), fixed(ours.median_us, 2),
               fixed(ours.p90_us, 2), fixed(host, 2), fixed(align_us, 2), fixed(gemm1_us, 2), fixed(gemm2_us, 2),
               fixed(sum_us, 2), fixed(split.total.median_us, 2), fixed(weight_bytes, 0), fixed(weight_gbps, 1),
               fixed(ctx.copy_gbps, 1), fixed(bw_share, 4), fixed(tflops, 2),
               std::isnan(grouped_us) ? "n/a" : fixed(grouped_us, 2), fixed(loop_us, 2), fixed(cublas_us, 2),
               grouped_wins ? "grouped" : "loop", fixed(speedup, 3), fixed(gemm_speedup, 3),
               std::to_string(state.ours.size()), std::to_string(state.dense.size()), fixed(ours_graph.median_us, 2),
               fixed(cublas_graph_us, 2), fixed(graph_speedup, 3)});
}

void run_layer(Context& ctx, const LayerShape& layer) {
  cudaStream_t stream = ctx.stream.get();
  const double expert_bytes = layer.expert_weights() * kNvfp4BytesPerWeight;
  const double layer_bytes = expert_bytes * static_cast<double>(layer.experts);
  // Touched at M = 1 (topk experts) is also what skewed routing touches at every M.
  const double touched_m1 = expert_bytes * static_cast<double>(layer.topk);
  LayerState state;

  const auto setup_start = std::chrono::steady_clock::now();
  {
    const DeviceCheckpoint checkpoint = make_checkpoint(layer, ctx.options.distinct_experts, stream);
    const double generated_s = seconds_since(setup_start);
    ctx.memory.sample(layer.name + " checkpoint");
    const std::int64_t copies = copies_for(layer_bytes, touched_m1, ctx.options.rotate_bytes, ctx.l2_bytes);
    const auto prepare_start = std::chrono::steady_clock::now();
    for (std::int64_t c = 0; c < copies; ++c) {
      state.ours.push_back(prepare_nvfp4_moe(ctx.runtime, checkpoint.view, stream));
    }
    ctx.memory.sample(layer.name + " prepared");
    std::printf("# %s: %lld experts, top-%lld, H %lld, I %lld (padded %lld), %s; NVFP4 %.0f MB per copy, %lld copies "
                "(%.1f MB touched at M = 1, L2 %.0f MB); %d distinct experts replicated; host generation %.1f s, "
                "prepare %.2f s\n",
                layer.name.c_str(), static_cast<long long>(layer.experts), static_cast<long long>(layer.topk),
                static_cast<long long>(layer.hidden), static_cast<long long>(layer.intermediate),
                static_cast<long long>(state.ours.front().padded_intermediate()), to_string(layer.activation).c_str(),
                layer_bytes / 1e6, static_cast<long long>(copies), touched_m1 / 1e6, ctx.l2_bytes / 1e6,
                static_cast<int>(std::min<std::int64_t>(ctx.options.distinct_experts, layer.experts)), generated_s,
                seconds_since(prepare_start));
  }  // the checkpoint buffers go

  const std::int64_t max_m = *std::max_element(ctx.options.ms.begin(), ctx.options.ms.end());
  const std::int64_t max_slots = max_m * layer.topk;
  const std::int64_t h = layer.hidden, i = layer.intermediate, n1 = layer.gemm1_n();
  const auto elements = [](std::int64_t rows, std::int64_t cols) { return static_cast<std::size_t>(rows * cols); };
  for (DType dtype : ctx.options.dtypes) {
    state.dense.clear();
    state.act = {};
    const DeviceBuffer pool =
        DeviceBuffer::from_host(test::random_half_values(1 << 22, dtype, test::stream_seed(7, 3)));
    MARLIN_JIT_CUDA(cudaDeviceSynchronize());
    const double dense_bytes = 2.0 * layer.expert_weights() * static_cast<double>(layer.experts);
    const double dense_touched_m1 = 2.0 * layer.expert_weights() * static_cast<double>(layer.topk);
    const std::int64_t dense_copies =
        copies_for(dense_bytes, dense_touched_m1, ctx.options.dense_rotate_bytes, ctx.l2_bytes);
    for (std::int64_t c = 0; c < dense_copies; ++c) {
      DenseWeights copy{DeviceBuffer(2 * elements(layer.experts * n1, h)),
                        DeviceBuffer(2 * elements(layer.experts * h, i))};
      tile_pool(copy.w1.get(), copy.w1.bytes(), pool, stream);
      tile_pool(copy.w2.get(), copy.w2.bytes(), pool, stream);
      state.dense.push_back(std::move(copy));
    }
    state.act.x = DeviceBuffer(2 * elements(max_slots, h));
    state.act.y = DeviceBuffer(2 * elements(max_slots, n1));
    state.act.z = DeviceBuffer(2 * elements(max_slots, i));
    state.act.o = DeviceBuffer(2 * elements(max_slots, h));
    tile_pool(state.act.x.get(), state.act.x.bytes(), pool, stream);
    tile_pool(state.act.z.get(), state.act.z.bytes(), pool, stream);
    state.hidden = DeviceBuffer(2 * elements(max_m, h));
    state.output = DeviceBuffer(2 * elements(max_m, h));
    tile_pool(state.hidden.get(), state.hidden.bytes(), pool, stream);
    MARLIN_JIT_CUDA(cudaStreamSynchronize(stream));
    std::printf("# %s %s: dense weights %.0f MB per copy, %lld copies (%.1f MB touched at M = 1)\n", layer.name.c_str(),
                test::dtype_name(dtype), dense_bytes / 1e6, static_cast<long long>(dense_copies),
                dense_touched_m1 / 1e6);
    print_header();
    std::fflush(stdout);
    for (const std::string& routing_kind : ctx.options.routings) {
      for (std::int64_t m : ctx.options.ms) {
        try {
          run_case(ctx, Case{layer, dtype, routing_kind, m}, state);
        } catch (const std::exception& e) {
          std::printf("%-5s %-8s %-7s %5lld | failed: %s\n", test::dtype_name(dtype), layer.name.c_str(),
                      routing_kind.c_str(), static_cast<long long>(m), e.what());
          cudaStreamSynchronize(stream);
          cudaGetLastError();
        }
      }
    }
  }
  std::printf("# %s done in %.1f s\n", layer.name.c_str(), seconds_since(setup_start));
}

int run(int argc, char** argv) {
  std::variant<Options, int> parsed = parse_options(argc, argv);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  Options& options = std::get<Options>(parsed);
  const test::GpuInfo& gpu = test::gpu_info();
  if (!gpu.present) {
    std::fprintf(stderr, "bench_moe: cannot run: %s\n", gpu.reason.c_str());
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  std::printf("# %s (sm_%d), %s, commit %s\n# %s\n", gpu.name.c_str(), gpu.sm, utc_date().c_str(), commit_id().c_str(),
              command.c_str());

  CudaStream stream;
  CublasHandle cublas(stream.get());
  RuntimeOptions runtime_options;
  if (!options.cache_dir.empty()) runtime_options.cache_dir = options.cache_dir;
  Runtime runtime(runtime_options);
  ResultsCsv csv(options.csv,
                 {"dtype", "layer", "experts", "topk", "hidden", "intermediate", "activation", "routing", "M",
                  "touched", "ours_us", "ours_p90_us", "host_us", "align_us", "gemm1_us", "gemm2_us", "sum_us",
                  "split_total_us", "weight_bytes", "weight_GBps", "copy_GBps", "bw_share", "tflops", "grouped_us",
                  "loop_us", "cublas_us", "baseline", "speedup", "gemm_speedup", "our_copies", "dense_copies",
                  "graph_us", "cublas_graph_us", "graph_speedup"});

  int l2 = 0;
  MARLIN_JIT_CUDA(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, gpu.device));
  const double copy_gbps = measure_copy_bandwidth(stream.get(), options.warmup, std::max(options.repeats, 20));
  std::printf("# device-to-device copy: %.0f GB/s (read + write); L2 %.0f MB; %d warm-ups, %d repeats, median\n",
              copy_gbps, l2 / 1e6, options.warmup, options.repeats);
  std::printf("# ours: one apply_nvfp4_moe (align, gemm1 + activation, gemm2 × top-k weight, top-k sum), eager "
              "(ours_us) and replayed from a CUDA graph (graph_us); split from a separate eager run with events between "
              "phases; host_us: host time to enqueue one call\n"
              "# baseline: cuBLAS GEMM1 + GEMM2 over the touched experts on pre-gathered rows (no routing, gather, "
              "activation, weighting or sum), faster of grouped (cublasGemmGroupedBatchedEx) and loop (cublasGemmEx), "
              "eager (cublas_us) and from a graph (cu_graph); speedup = cublas_us / ours_us, graph_x = cu_graph / "
              "graph_us; times in µs; bw%%: touched experts' NVFP4 weight + scale bytes / graph_us, as a share of copy "
              "bandwidth\n");
  if (options.separate_activation) {
    std::printf("# variant --separate-activation: GEMM1 stores raw rows, a separate kernel applies the activation "
                "(its time is in the gemm1 column)\n");
  }
  MemoryPeak memory;
  Context ctx{options, runtime, stream, cublas, copy_gbps, static_cast<double>(l2), csv, memory};
  for (const LayerShape& layer : known_layers()) {
    if (std::find(options.layers.begin(), options.layers.end(), layer.name) == options.layers.end()) continue;
    try {
      run_layer(ctx, layer);
    } catch (const std::exception& e) {
      std::printf("%s: failed: %s\n", layer.name.c_str(), e.what());
      cudaStreamSynchronize(stream.get());
      cudaGetLastError();
    }
  }
  std::printf("# device memory in use, sampled peak: %.1f GB (%s); total %.0f s\n", memory.bytes / 1e9,
              memory.where.c_str(), seconds_since(start));
  csv.save();
  if (!options.csv.empty()) std::printf("# wrote %s\n", options.csv.c_str());
  return 0;
}

}  // namespace
}  // namespace marlin_jit::bench

int main(int argc, char** argv) { return marlin_jit::bench::run(argc, argv); }
