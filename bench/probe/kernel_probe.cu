// Kernel developer's probe: builds the GEMM templates with nvcc directly (no runtime, no cache) and checks them
// against a float64 CPU reference, then times them against cuBLAS. For quick device iterations on the kernel;
// the product path (NVRTC + cache) is covered by tests/gpu and bench/bench_gemm.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "marlin_jit/entry/dense_gemm.cuh"
#include "nvfp4_checkpoint.hpp"
#include "reference_gemm.hpp"
#include "marlin_jit/entry/nvfp4_prep.cuh"
#include "ops/gemm_plan.hpp"
#include "dispatch/tile_select.hpp"

using namespace marlin_jit;
using kernels::GemmParams;

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { std::printf("CUDA %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, __LINE__); std::exit(1); } } while (0)

template <typename T, int Th, int Mb, int Nb, int Kb, int St>
void launch(const GemmParams& p, const ops::GemmPlan& plan, cudaStream_t s) {
  auto kernel = kernels::dense_gemm<T, kernels::QuantKind::nvfp4, 16, Th, Mb, Nb, Kb, St>;
  static bool configured = false;  // the attribute call costs host time: keep it out of the timed launches
  if (!configured) { CK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(plan.shared_bytes))); configured = true; }
  kernel<<<dim3(plan.m_chunks, plan.n_tiles, plan.splits), Th, plan.shared_bytes, s>>>(p);
}

template <typename T>
bool dispatch_launch(const GemmParams& p, const ops::GemmPlan& plan, cudaStream_t s) {
  const TileConfig& t = plan.tile;
#define TRY(Th, Mb, Nb, Kb, St) if (t.threads == Th && t.m_blocks == Mb && t.n_blocks == Nb && t.k_blocks == Kb && t.stages == St) { launch<T, Th, Mb, Nb, Kb, St>(p, plan, s); return true; }
  // The stage counts tile_select picks on an H100 (228 KB shared memory per SM).
  TRY(128, 1, 4, 8, 8) TRY(128, 2, 4, 8, 8) TRY(128, 3, 4, 8, 6) TRY(128, 4, 4, 8, 5)
  TRY(128, 1, 4, 4, 8) TRY(128, 2, 4, 4, 8) TRY(128, 3, 4, 4, 8) TRY(128, 4, 4, 4, 8)
  TRY(256, 1, 8, 8, 8) TRY(256, 2, 8, 8, 6) TRY(256, 3, 8, 8, 5) TRY(256, 4, 8, 8, 4)
  TRY(256, 1, 8, 4, 8) TRY(256, 2, 8, 4, 8) TRY(256, 3, 8, 4, 8) TRY(256, 4, 8, 4, 8)
  // Experiments: two or four 16-column blocks per warp.
  TRY(128, 1, 8, 8, 8) TRY(128, 4, 8, 8, 4) TRY(64, 1, 4, 8, 8) TRY(64, 1, 8, 8, 8) TRY(128, 1, 8, 4, 8)
  std::printf("no instantiation for t%dm%dn%dk%ds%d\n", t.threads, t.m_blocks, t.n_blocks, t.k_blocks, t.stages);
  return false;
}

// A checkpoint layer from tests/support and its prepared copy on the device.
struct Layer {
  int n, k, n_pad; float global;
  test::Nvfp4HostLayer host;  // checkpoint
  unsigned int* d_w = nullptr; unsigned char* d_s = nullptr;  // prepared
};

static Layer make_layer(int n, int k, std::uint64_t seed, bool adversarial) {
  Layer L{n, k, (n + 63) / 64 * 64, 0.0f,
          test::make_layer(adversarial ? test::CheckpointKind::adversarial : test::CheckpointKind::realistic, n, k, seed)};
  L.global = L.host.global_scale;
  return L;
}

static void prepare(Layer& L, cudaStream_t s) {
  uint8_t *cw, *cs; int* flag;
  CK(cudaMalloc(&cw, L.host.weight.size())); CK(cudaMalloc(&cs, L.host.weight_scale.size())); CK(cudaMalloc(&flag, 4)); CK(cudaMemset(flag, 0, 4));
  CK(cudaMemcpy(cw, L.host.weight.data(), L.host.weight.size(), cudaMemcpyHostToDevice)); CK(cudaMemcpy(cs, L.host.weight_scale.data(), L.host.weight_scale.size(), cudaMemcpyHostToDevice));
  size_t words = size_t(L.n_pad / 16) * (L.k / 64) * 128, sbytes = size_t(L.n_pad) * L.k / 16;
  CK(cudaMalloc(&L.d_w, words * 4)); CK(cudaMalloc(&L.d_s, sbytes));
  kernels::nvfp4_prepare_scales<<<unsigned((sbytes + 255) / 256), 256, 0, s>>>(cs, L.d_s, L.n, L.k, L.n_pad, flag);
  kernels::nvfp4_repack_weights<<<unsigned((words + 255) / 256), 256, 0, s>>>(cw, cs, L.d_w, L.n, L.k, L.n_pad);
  CK(cudaStreamSynchronize(s)); CK(cudaGetLastError());
  CK(cudaFree(cw)); CK(cudaFree(cs)); CK(cudaFree(flag));
}

static std::vector<int> probe_ms() { if (std::getenv("PROBE_SWEEP")) return {1, 16, 64}; return {1, 16, 64, 256, 1024, 4096}; }
static std::vector<bool> probe_dtypes() { if (std::getenv("PROBE_SWEEP")) return {true}; return {true, false}; }

int main(int argc, char** argv) {
  bool time_only = argc > 1 && std::strcmp(argv[1], "--time") == 0;
  bool check_only = argc > 1 && std::strcmp(argv[1], "--check") == 0;  // correctness cases only
  cudaDeviceProp prop; CK(cudaGetDeviceProperties(&prop, 0));
  dispatch::DeviceLimits limits{prop.major * 10 + prop.minor, prop.multiProcessorCount, int(prop.sharedMemPerBlockOptin), int(prop.sharedMemPerMultiprocessor)};
  std::printf("device %s sm_%d SMs %d smem %d\n", prop.name, limits.sm, limits.multiprocessors, limits.max_shared_bytes_per_block);
  cudaStream_t s; CK(cudaStreamCreate(&s));
  std::mt19937 rng(12345);
  float* ws; int* counters; CK(cudaMalloc(&ws, 256 << 20)); CK(cudaMalloc(&counters, 1 << 20)); CK(cudaMemset(counters, 0, 1 << 20));
  int fails = 0;
  if (!time_only) {
    struct Case { int m, n, k; bool adv; };
    std::vector<Case> cases = {{1, 256, 128, false}, {7, 200, 256, true}, {16, 4096, 4096, false}, {33, 2688, 1856, true}, {64, 256, 128, true}, {128, 512, 1024, false}, {257, 200, 256, false}, {1024, 1024, 512, true}};
    for (bool bf16 : {false, true}) for (auto c : cases) {
      const DType dtype = bf16 ? DType::bf16 : DType::fp16;
      Layer L = make_layer(c.n, c.k, rng(), c.adv); prepare(L, s);
      std::vector<uint16_t> a = test::random_half_values(std::int64_t(c.m) * c.k, dtype, rng());
      void *da, *dout; CK(cudaMalloc(&da, a.size() * 2)); CK(cudaMalloc(&dout, size_t(c.m) * c.n * 2));
      CK(cudaMemcpy(da, a.data(), a.size() * 2, cudaMemcpyHostToDevice)); CK(cudaMemset(dout, 0xFF, size_t(c.m) * c.n * 2));
      TileConfig tile = dispatch::select_tile(c.m, c.n, c.k, limits);
      ops::GemmPlan plan = ops::plan_gemm(c.m, L.n_pad, c.k, tile, limits.multiprocessors);
      float gs = L.global * 128.0f;
      GemmParams p{da, dout, nullptr, L.d_w, L.d_s, ws, counters, gs, c.m, c.n, c.k, L.n_pad, plan.k_tiles_per_split, plan.splits};
      bool ok = bf16 ? dispatch_launch<__nv_bfloat16>(p, plan, s) : dispatch_launch<__half>(p, plan, s);
      CK(cudaStreamSynchronize(s)); CK(cudaGetLastError());
      std::vector<uint16_t> out(size_t(c.m) * c.n); CK(cudaMemcpy(out.data(), dout, out.size() * 2, cudaMemcpyDeviceToHost));
      auto ref = test::reference_gemm(test::half_values_to_double(a, dtype), L.host.dequantized(), {}, c.m, c.n, c.k);
      double num = 0, den = 0; bool finite = true;
      for (size_t i = 0; i < out.size(); ++i) { double o = test::half_to_double(out[i], dtype); if (!std::isfinite(o)) finite = false; num += (o - ref[i]) * (o - ref[i]); den += ref[i] * ref[i]; }
      double rel = std::sqrt(num / den);
      bool pass = ok && finite && rel < (bf16 ? 8e-3 : 1e-3);
      fails += !pass;
      std::printf("%s %s m=%d n=%d k=%d adv=%d tile=t%dm%dn%dk%ds%d splits=%d rel=%.3e %s\n", pass ? "PASS" : "FAIL", bf16 ? "bf16" : "fp16", c.m, c.n, c.k, c.adv,
                  tile.threads, tile.m_blocks, tile.n_blocks, tile.k_blocks, tile.stages, plan.splits, rel, finite ? "" : "NONFINITE");
      CK(cudaFree(da)); CK(cudaFree(dout)); CK(cudaFree(L.d_w)); CK(cudaFree(L.d_s));
    }
  }
  if (check_only) { std::printf("\nprobe: %d failed\n", fails); return fails ? 1 : 0; }
  // Timing: rotating copies so L2 never serves the weights.
  cublasHandle_t h; cublasCreate(&h); cublasSetStream(h, s);
  struct Shape { int n, k; }; std::vector<Shape> shapes = {{8192, 8192}, {28672, 8192}, {8192, 28672}, {4096, 4096}};
  if (std::getenv("PROBE_SWEEP")) shapes = {{8192, 8192}, {28672, 8192}};
  std::printf("\n%-5s %6s %6s %6s %10s %10s %8s %8s %6s\n", "dtype", "M", "N", "K", "ours_us", "cublas_us", "speedup", "GB/s", "split");
  for (bool bf16 : probe_dtypes()) for (auto sh : shapes) {
    int copies = std::max(2, int((400ll << 20) / (size_t(sh.n) * sh.k / 2)));
    std::vector<Layer> Ls; for (int i = 0; i < copies; ++i) { Layer L = make_layer(sh.n, sh.k, rng(), false); prepare(L, s); L.host = {}; Ls.push_back(std::move(L)); }
    std::vector<void*> bw(std::max(2, int((400ll << 20) / (size_t(sh.n) * sh.k * 2)))); for (auto& b : bw) { CK(cudaMalloc(&b, size_t(sh.n) * sh.k * 2)); CK(cudaMemset(b, 0x3c, size_t(sh.n) * sh.k * 2)); }
    for (int m : probe_ms()) {
      void *da, *dout; CK(cudaMalloc(&da, size_t(m) * sh.k * 2)); CK(cudaMalloc(&dout, size_t(m) * sh.n * 2)); CK(cudaMemset(da, 0x3c, size_t(m) * sh.k * 2));
      TileConfig tile = dispatch::select_tile(m, sh.n, sh.k, limits);
      if (const char* nb = std::getenv("PROBE_NBLOCKS")) { tile.n_blocks = std::atoi(nb); tile.threads = tile.n_blocks == 8 ? 256 : 128; tile = dispatch::select_tile_stages(tile, limits); }
      if (const char* th = std::getenv("PROBE_THREADS")) { tile.threads = std::atoi(th); tile = dispatch::select_tile_stages(tile, limits); }
      ops::GemmPlan plan = ops::plan_gemm(m, sh.n, sh.k, tile, limits.multiprocessors);
      if (const char* sp = std::getenv("PROBE_SPLITS")) { int k_tiles = sh.k / tile.tile_k(); plan.splits = std::min(std::atoi(sp), k_tiles); plan.k_tiles_per_split = (k_tiles + plan.splits - 1) / plan.splits; plan.splits = (k_tiles + plan.k_tiles_per_split - 1) / plan.k_tiles_per_split; }
      cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
      // Median over 9 batches of 20 back-to-back launches (rotating buffers), so host launch gaps stay hidden.
      auto time_it = [&](auto&& fn) { for (int i = 0; i < 5; ++i) fn(i); std::vector<float> ts; for (int r = 0; r < 9; ++r) { cudaEventRecord(e0, s); for (int b = 0; b < 20; ++b) fn(r * 20 + b); cudaEventRecord(e1, s); cudaEventSynchronize(e1); float ms; cudaEventElapsedTime(&ms, e0, e1); ts.push_back(ms * 1000 / 20); } std::sort(ts.begin(), ts.end()); return ts[ts.size() / 2]; };
      float ours = time_it([&](int i) { Layer& L = Ls[i % copies]; GemmParams p{da, dout, nullptr, L.d_w, L.d_s, ws, counters, 1.0f, m, sh.n, sh.k, L.n_pad, plan.k_tiles_per_split, plan.splits}; bf16 ? dispatch_launch<__nv_bfloat16>(p, plan, s) : dispatch_launch<__half>(p, plan, s); });
      CK(cudaGetLastError());
      float alpha = 1, beta = 0; cudaDataType dt = bf16 ? CUDA_R_16BF : CUDA_R_16F;
      float cub = time_it([&](int i) { cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, sh.n, m, sh.k, &alpha, bw[i % bw.size()], dt, sh.k, da, dt, sh.k, &beta, dout, dt, sh.n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT); });
      double gbs = (double(sh.n) * sh.k * 0.5625) / (ours * 1e-6) / 1e9;
      std::printf("%-5s %6d %6d %6d %10.1f %10.1f %8.2f %8.0f %6d t%dm%dn%dk%d\n", bf16 ? "bf16" : "fp16", m, sh.n, sh.k, ours, cub, cub / ours, gbs, plan.splits, tile.threads, tile.m_blocks, tile.n_blocks, tile.k_blocks);
      CK(cudaFree(da)); CK(cudaFree(dout));
    }
    for (auto& L : Ls) { CK(cudaFree(L.d_w)); CK(cudaFree(L.d_s)); } for (auto& b : bw) CK(cudaFree(b));
  }
  std::printf("\nprobe: %d failed\n", fails);
  return fails ? 1 : 0;
}
