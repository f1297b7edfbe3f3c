// Kernel developer's probe: builds the GEMM templates with nvcc directly (no runtime, no cache), checks every
// instantiated tile against a float64 CPU reference, then times tile configurations against cuBLAS and the copy
// bandwidth. For quick device sweeps of the kernel; the product path (NVRTC + cache) is covered by tests/gpu and
// bench/bench_gemm. Usage: kernel_probe [--check] [--time]   (default both)
//   PROBE_TILES="t256m1n8k16s4,..."  time only these tiles (each must be in kProbeTiles); default: every tile
//   whose m_blocks fits M, plus the dispatcher's pick. PROBE_SPLITS=n forces the K split; PROBE_M=m times one M.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "dispatch/tile_select.hpp"
#include "marlin_jit/entry/dense_gemm.cuh"
#include "marlin_jit/entry/nvfp4_prep.cuh"
#include "nvfp4_checkpoint.hpp"
#include "ops/gemm_plan.hpp"
#include "reference_gemm.hpp"

using namespace marlin_jit;
using kernels::GemmParams;

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { std::printf("CUDA %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, __LINE__); std::exit(1); } } while (0)

// Every tile this probe instantiates (both dtypes): (threads, m_blocks, n_blocks, k_blocks, stages, columns per
// warp): the dispatcher's picks on sm_90 and the alternatives a sweep compares them with. Columns 0 is the
// product's TileShape (the dense_gemm entry); any other count is an experiment (ProbeShape below).
#define PROBE_TILES(X) \
  X(256, 1, 8, 8, 4, 0) X(256, 2, 8, 8, 4, 0) X(256, 3, 8, 8, 4, 0) X(256, 4, 8, 8, 4, 0) \
  X(128, 1, 4, 8, 4, 0) X(128, 2, 4, 8, 4, 0) X(128, 3, 4, 8, 4, 0) X(128, 4, 4, 8, 4, 0) \
  X(128, 1, 8, 4, 4, 0) X(128, 2, 8, 4, 4, 0) X(128, 3, 8, 4, 4, 0) X(128, 4, 8, 4, 4, 0) \
  X(64, 1, 4, 4, 4, 0) X(64, 2, 4, 4, 4, 0) X(64, 3, 4, 4, 4, 0) X(64, 4, 4, 4, 4, 0) \
  X(256, 1, 8, 8, 3, 0) X(256, 4, 8, 8, 3, 0) X(512, 1, 16, 8, 4, 0) X(256, 1, 8, 16, 4, 4) X(128, 1, 4, 16, 3, 4) \
  X(256, 4, 8, 8, 6, 4) X(256, 4, 16, 8, 6, 4)

namespace marlin_jit::kernels {
// An experimental warp layout: Cols 16-column blocks a warp instead of TileShape's min(4, NBlocks).
template <int Th, int Mb, int Nb, int Kb, int St, int Cols>
struct ProbeShape : TileShape<Th, Mb, Nb, Kb, St> {
  using Base = TileShape<Th, Mb, Nb, Kb, St>;
  static constexpr int kColumnsPerWarp = Cols;
  static constexpr int kWarpsN = Nb / Cols;
  static constexpr int kWarpsK = Base::kWarps / kWarpsN;
  static constexpr int kStepsPerWarp = Kb / kWarpsK;
  static constexpr int kWordsPerRead = kStepsPerWarp < 4 ? kStepsPerWarp : 4;
  static constexpr int kAccumulatorsPerThread = Mb * Cols * 8;
  static constexpr int kReductionBytes = (kWarpsK / 2) * kWarpsN * kAccumulatorsPerThread * 32 * 4;
  static constexpr int kSharedBytes = Base::kPipelineBytes > kReductionBytes ? Base::kPipelineBytes : kReductionBytes;
  static_assert(kWarpsN * kWarpsK == Base::kWarps && (kWarpsK & (kWarpsK - 1)) == 0 && Kb % kWarpsK == 0, "layout");
};
template <typename T, typename Shape>
__global__ void __launch_bounds__(Shape::kThreads) probe_gemm(const GemmParams params) {
  extern __shared__ __align__(16) unsigned char shared[];
  Nvfp4Mainloop<T, Shape> mainloop(params, shared);
  mainloop.run();
  store_tile<T, Shape>(params, mainloop);
}
}  // namespace marlin_jit::kernels

struct ProbeTile { TileConfig tile; int cols = 0; };

template <typename T, int Th, int Mb, int Nb, int Kb, int St, int Cols>
void launch(const GemmParams& p, const ops::GemmPlan& plan, cudaStream_t s) {
  using Shape = kernels::ProbeShape<Th, Mb, Nb, Kb, St, Cols == 0 ? (Nb < 4 ? Nb : 4) : Cols>;
  auto kernel = Cols == 0 ? kernels::dense_gemm<T, kernels::QuantKind::nvfp4, 16, Th, Mb, Nb, Kb, St> : kernels::probe_gemm<T, Shape>;
  const unsigned shared = Cols == 0 ? plan.shared_bytes : unsigned(Shape::kSharedBytes);
  if (Cols == 0 && plan.shared_bytes != unsigned(kernels::TileShape<Th, Mb, Nb, Kb, St>::kSharedBytes)) { std::printf("host shared bytes disagree\n"); std::exit(1); }
  static bool configured = false;  // the attribute call costs host time: keep it out of the timed launches
  if (!configured) { CK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(shared))); configured = true; }
  kernel<<<dim3(plan.m_chunks, plan.n_tiles, plan.splits), Th, shared, s>>>(p);
}

template <typename T>
bool dispatch_launch(const GemmParams& p, const ops::GemmPlan& plan, int cols, cudaStream_t s) {
  const TileConfig& t = plan.tile;
#define TRY(Th, Mb, Nb, Kb, St, Cols) if (t.threads == Th && t.m_blocks == Mb && t.n_blocks == Nb && t.k_blocks == Kb && t.stages == St && cols == Cols) { launch<T, Th, Mb, Nb, Kb, St, Cols>(p, plan, s); return true; }
  PROBE_TILES(TRY)
#undef TRY
  return false;
}

static std::vector<ProbeTile> probe_tiles() {
  std::vector<ProbeTile> tiles;
#define LIST(Th, Mb, Nb, Kb, St, Cols) tiles.push_back(ProbeTile{TileConfig{Th, Mb, Nb, Kb, St}, Cols});
  PROBE_TILES(LIST)
#undef LIST
  return tiles;
}

static std::string name(const TileConfig& t, int cols = 0) {
  return "t" + std::to_string(t.threads) + "m" + std::to_string(t.m_blocks) + "n" + std::to_string(t.n_blocks) + "k" +
         std::to_string(t.k_blocks) + "s" + std::to_string(t.stages) + (cols ? "c" + std::to_string(cols) : "");
}
static std::string name(const ProbeTile& t) { return name(t.tile, t.cols); }

struct DeviceLayer { unsigned int* w = nullptr; unsigned char* s = nullptr; int n_pad = 0; };

static DeviceLayer prepare(const test::Nvfp4HostLayer& host, cudaStream_t s) {
  DeviceLayer L; L.n_pad = int((host.n + 63) / 64 * 64);
  const int n = int(host.n), k = int(host.k);
  uint8_t *cw, *cs; int* flag;
  CK(cudaMalloc(&cw, host.weight.size())); CK(cudaMalloc(&cs, host.weight_scale.size())); CK(cudaMalloc(&flag, 4)); CK(cudaMemset(flag, 0, 4));
  CK(cudaMemcpy(cw, host.weight.data(), host.weight.size(), cudaMemcpyHostToDevice)); CK(cudaMemcpy(cs, host.weight_scale.data(), host.weight_scale.size(), cudaMemcpyHostToDevice));
  size_t words = size_t(L.n_pad / 16) * (k / 64) * 128, sbytes = size_t(L.n_pad) * k / 16;
  CK(cudaMalloc(&L.w, words * 4)); CK(cudaMalloc(&L.s, sbytes));
  kernels::nvfp4_prepare_scales<<<unsigned((sbytes + 255) / 256), 256, 0, s>>>(cs, L.s, n, k, L.n_pad, k, 0, flag);
  kernels::nvfp4_repack_weights<<<unsigned((words + 255) / 256), 256, 0, s>>>(cw, cs, L.w, n, k, L.n_pad, k, 0);
  CK(cudaStreamSynchronize(s)); CK(cudaGetLastError());
  CK(cudaFree(cw)); CK(cudaFree(cs)); CK(cudaFree(flag));
  return L;
}

static bool launch_any(bool bf16, const GemmParams& p, const ops::GemmPlan& plan, cudaStream_t s, int cols = 0) {
  return bf16 ? dispatch_launch<__nv_bfloat16>(p, plan, cols, s) : dispatch_launch<__half>(p, plan, cols, s);
}

static void force_splits(ops::GemmPlan& plan, int k, int splits) {
  const int k_tiles = k / plan.tile.tile_k();
  plan.splits = std::min(splits, k_tiles);
  plan.k_tiles_per_split = (k_tiles + plan.splits - 1) / plan.splits;
  plan.splits = (k_tiles + plan.k_tiles_per_split - 1) / plan.k_tiles_per_split;
  plan.workspace_floats = std::uint64_t(plan.splits) * plan.m_chunks * plan.tile.tile_m() * plan.n_tiles * plan.tile.tile_n();
}

// Relative error of one launch against the float64 reference (NaN when the launch or an output is bad).
static double check_case(bool bf16, const ProbeTile& probe, int m, int n, int k, bool adversarial, int splits,
                         std::mt19937& rng, float* ws, int* counters, cudaStream_t s) {
  const DType dtype = bf16 ? DType::bf16 : DType::fp16;
  test::Nvfp4HostLayer host = test::make_layer(adversarial ? test::CheckpointKind::adversarial : test::CheckpointKind::realistic, n, k, rng());
  DeviceLayer L = prepare(host, s);
  std::vector<uint16_t> a = test::random_half_values(std::int64_t(m) * k, dtype, rng());
  void *da, *dout; CK(cudaMalloc(&da, a.size() * 2)); CK(cudaMalloc(&dout, size_t(m) * n * 2));
  CK(cudaMemcpy(da, a.data(), a.size() * 2, cudaMemcpyHostToDevice)); CK(cudaMemset(dout, 0xFF, size_t(m) * n * 2));
  ops::GemmPlan plan = ops::plan_gemm(m, L.n_pad, k, probe.tile, dispatch::default_limits(90));
  if (splits > 0) force_splits(plan, k, splits);
  GemmParams p{da, dout, nullptr, L.w, L.s, ws, counters, host.global_scale * 128.0f, m, n, k, L.n_pad, plan.k_tiles_per_split, plan.splits, k};
  bool ok = launch_any(bf16, p, plan, s, probe.cols);
  CK(cudaStreamSynchronize(s)); CK(cudaGetLastError());
  std::vector<uint16_t> out(size_t(m) * n); CK(cudaMemcpy(out.data(), dout, out.size() * 2, cudaMemcpyDeviceToHost));
  auto ref = test::reference_gemm(test::half_values_to_double(a, dtype), host.dequantized(), {}, m, n, k);
  double num = 0, den = 0;
  for (size_t i = 0; i < out.size(); ++i) { double o = test::half_to_double(out[i], dtype); if (!std::isfinite(o)) ok = false; num += (o - ref[i]) * (o - ref[i]); den += ref[i] * ref[i]; }
  CK(cudaFree(da)); CK(cudaFree(dout)); CK(cudaFree(L.w)); CK(cudaFree(L.s));
  return ok ? std::sqrt(num / den) : NAN;
}

int main(int argc, char** argv) {
  bool do_check = true, do_time = true;
  if (argc > 1 && std::strcmp(argv[1], "--check") == 0) do_time = false;
  if (argc > 1 && std::strcmp(argv[1], "--time") == 0) do_check = false;
  // --one TILE M N K: three launches of one configuration and nothing else (for a profiler).
  const bool one = argc > 5 && std::strcmp(argv[1], "--one") == 0;
  cudaDeviceProp prop; CK(cudaGetDeviceProperties(&prop, 0));
  dispatch::DeviceLimits limits{prop.major * 10 + prop.minor, prop.multiProcessorCount, int(prop.sharedMemPerBlockOptin), int(prop.sharedMemPerMultiprocessor)};
  std::printf("device %s sm_%d SMs %d smem/block %d smem/SM %d\n", prop.name, limits.sm, limits.multiprocessors, limits.max_shared_bytes_per_block, limits.max_shared_bytes_per_sm);
  cudaStream_t s; CK(cudaStreamCreate(&s));
  std::mt19937 rng(12345);
  float* ws; int* counters; CK(cudaMalloc(&ws, 512 << 20)); CK(cudaMalloc(&counters, 1 << 20)); CK(cudaMemset(counters, 0, 1 << 20));
  int fails = 0;
  if (one) {
    ProbeTile tile{};
    for (const ProbeTile& t : probe_tiles()) if (name(t) == argv[2]) tile = t;
    const int m = std::atoi(argv[3]), n = std::atoi(argv[4]), k = std::atoi(argv[5]);
    test::Nvfp4HostLayer host = test::make_layer(test::CheckpointKind::realistic, n, k, rng());
    DeviceLayer L = prepare(host, s);
    void *da, *dout; CK(cudaMalloc(&da, size_t(m) * k * 2)); CK(cudaMalloc(&dout, size_t(m) * n * 2)); CK(cudaMemset(da, 0x3c, size_t(m) * k * 2));
    ops::GemmPlan plan = ops::plan_gemm(m, L.n_pad, k, tile.tile, limits);
    GemmParams p{da, dout, nullptr, L.w, L.s, ws, counters, 1.0f, m, n, k, L.n_pad, plan.k_tiles_per_split, plan.splits, k};
    for (int i = 0; i < 3; ++i) if (!launch_any(true, p, plan, s, tile.cols)) { std::printf("%s not instantiated\n", argv[2]); return 1; }
    CK(cudaStreamSynchronize(s)); CK(cudaGetLastError());
    std::printf("ran %s m=%d n=%d k=%d splits=%d\n", name(tile).c_str(), m, n, k, plan.splits);
    return 0;
  }
  if (do_check) {
    // Every instantiated tile, both dtypes, a partial last N tile, M not a multiple of 16, split and unsplit.
    for (const ProbeTile& tile : probe_tiles()) for (bool bf16 : {false, true}) for (int splits : {1, 3}) {
      const int m = tile.tile.m_blocks * 16 - 3, n = 200 + 64 * (tile.tile.n_blocks / 4), k = tile.tile.tile_k() * 6;
      const double rel = check_case(bf16, tile, m, n, k, splits == 3, splits, rng, ws, counters, s);
      const bool pass = rel < (bf16 ? 8e-3 : 1e-3);
      fails += !pass;
      if (!pass || splits == 1) std::printf("%s %s %s m=%d n=%d k=%d splits=%d rel=%.3e\n", pass ? "PASS" : "FAIL", bf16 ? "bf16" : "fp16", name(tile).c_str(), m, n, k, splits, rel);
    }
    // The dispatcher's picks on the issue's awkward shapes.
    struct Case { int m, n, k; bool adv; };
    for (auto c : std::vector<Case>{{1, 256, 128, false}, {7, 200, 256, true}, {33, 2688, 1856, true}, {64, 256, 128, true}, {257, 200, 256, false}})
      for (bool bf16 : {false, true}) {
        const ProbeTile tile{dispatch::select_tile(c.m, c.n, c.k, limits), 0};
        const double rel = check_case(bf16, tile, c.m, c.n, c.k, c.adv, 0, rng, ws, counters, s);
        const bool pass = rel < (bf16 ? 8e-3 : 1e-3);
        fails += !pass;
        std::printf("%s %s dispatch %s m=%d n=%d k=%d rel=%.3e%s\n", pass ? "PASS" : "FAIL", bf16 ? "bf16" : "fp16", name(tile).c_str(), c.m, c.n, c.k, rel, std::isnan(rel) ? " (tile not instantiated or bad output)" : "");
      }
    std::printf("check: %d failed\n", fails);
  }
  if (!do_time) return fails ? 1 : 0;

  std::vector<ProbeTile> chosen;
  if (const char* list = std::getenv("PROBE_TILES")) {
    for (const std::string& want : [&] { std::vector<std::string> v; std::string cur; for (const char* c = list; ; ++c) { if (*c == ',' || *c == 0) { if (!cur.empty()) v.push_back(cur); cur.clear(); if (!*c) break; } else cur += *c; } return v; }())
      for (const ProbeTile& t : probe_tiles()) if (name(t) == want) chosen.push_back(t);
  } else {
    chosen = probe_tiles();
  }
  const int forced_splits = std::getenv("PROBE_SPLITS") ? std::atoi(std::getenv("PROBE_SPLITS")) : 0;
  cublasHandle_t h; cublasCreate(&h); cublasSetStream(h, s);
  cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
  // Median over 9 batches of 20 back-to-back launches (rotating buffers), so host launch gaps stay hidden.
  auto time_it = [&](auto&& fn) { for (int i = 0; i < 5; ++i) fn(i); std::vector<float> ts; for (int r = 0; r < 9; ++r) { cudaEventRecord(e0, s); for (int b = 0; b < 20; ++b) fn(r * 20 + b); cudaEventRecord(e1, s); cudaEventSynchronize(e1); float ms; cudaEventElapsedTime(&ms, e0, e1); ts.push_back(ms * 1000 / 20); } std::sort(ts.begin(), ts.end()); return ts[ts.size() / 2]; };
  {
    void *src, *dst; const size_t bytes = size_t(1) << 30; CK(cudaMalloc(&src, bytes)); CK(cudaMalloc(&dst, bytes)); CK(cudaMemset(src, 1, bytes));
    float us = time_it([&](int) { CK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s)); });
    std::printf("copy: %.0f GB/s (read + write)\n", 2.0 * bytes / (us * 1e-6) / 1e9);
    CK(cudaFree(src)); CK(cudaFree(dst));
  }
  std::printf("\n%-5s %5s %6s %6s %-14s %6s %9s %9s %7s %8s\n", "dtype", "M", "N", "K", "tile", "split", "ours_us", "cublas_us", "speedup", "w_GB/s");
  struct Shape { int n, k; };
  std::vector<Shape> shapes = {{8192, 8192}, {28672, 8192}, {8192, 28672}, {4096, 4096}};
  std::vector<int> ms = {1, 16, 32, 64, 128};
  if (const char* only_m = std::getenv("PROBE_M")) ms = {std::atoi(only_m)};  // one M only
  const bool bf16 = !std::getenv("PROBE_FP16");
  for (auto sh : shapes) {
    test::Nvfp4HostLayer host = test::make_layer(test::CheckpointKind::realistic, sh.n, sh.k, rng());
    const int copies = std::max(2, int((512ll << 20) / (size_t(sh.n) * sh.k / 2)));
    std::vector<DeviceLayer> layers; for (int i = 0; i < copies; ++i) layers.push_back(prepare(host, s));
    std::vector<void*> dense(std::max(2, int((512ll << 20) / (size_t(sh.n) * sh.k * 2))));
    for (auto& b : dense) { CK(cudaMalloc(&b, size_t(sh.n) * sh.k * 2)); CK(cudaMemset(b, 0x3c, size_t(sh.n) * sh.k * 2)); }
    for (int m : ms) {
      void *da, *dout; CK(cudaMalloc(&da, size_t(m) * sh.k * 2)); CK(cudaMalloc(&dout, size_t(m) * sh.n * 2)); CK(cudaMemset(da, 0x3c, size_t(m) * sh.k * 2));
      float alpha = 1, beta = 0; cudaDataType dt = bf16 ? CUDA_R_16BF : CUDA_R_16F;
      const float cub = time_it([&](int i) { cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, sh.n, m, sh.k, &alpha, dense[i % dense.size()], dt, sh.k, da, dt, sh.k, &beta, dout, dt, sh.n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT); });
      const int want_m_blocks = std::min(4, (m + 15) / 16);
      std::vector<std::pair<ProbeTile, bool>> runs;
      runs.push_back({ProbeTile{dispatch::select_tile(m, sh.n, sh.k, limits), 0}, true});
      for (const ProbeTile& t : chosen) if (t.tile.m_blocks == want_m_blocks && sh.k % t.tile.tile_k() == 0) runs.push_back({t, false});
      for (auto [tile, is_pick] : runs) {
        ops::GemmPlan plan = ops::plan_gemm(m, layers[0].n_pad, sh.k, tile.tile, limits);
        if (forced_splits > 0) force_splits(plan, sh.k, forced_splits);
        GemmParams p0{da, dout, nullptr, nullptr, nullptr, ws, counters, 1.0f, m, sh.n, sh.k, layers[0].n_pad, plan.k_tiles_per_split, plan.splits, sh.k};
        p0.weights = layers[0].w; p0.scales = layers[0].s;
        if (!launch_any(bf16, p0, plan, s, tile.cols)) { std::printf("%-5s %5d %6d %6d %-14s not instantiated\n", bf16 ? "bf16" : "fp16", m, sh.n, sh.k, name(tile).c_str()); continue; }
        const float ours = time_it([&](int i) { GemmParams p = p0; p.weights = layers[i % copies].w; p.scales = layers[i % copies].s; launch_any(bf16, p, plan, s, tile.cols); });
        CK(cudaGetLastError());
        const double gbs = (double(sh.n) * sh.k * 0.5625) / (ours * 1e-6) / 1e9;
        std::printf("%-5s %5d %6d %6d %-14s %6d %9.1f %9.1f %7.2f %8.0f%s\n", bf16 ? "bf16" : "fp16", m, sh.n, sh.k, name(tile).c_str(), plan.splits, ours, cub, cub / ours, gbs, is_pick ? "  <- dispatch" : "");
      }
      CK(cudaFree(da)); CK(cudaFree(dout));
    }
    for (auto& L : layers) { CK(cudaFree(L.w)); CK(cudaFree(L.s)); } for (auto& b : dense) CK(cudaFree(b));
  }
  std::printf("\nprobe: %d failed\n", fails);
  return fails ? 1 : 0;
}
