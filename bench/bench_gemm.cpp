// bench_gemm: apply_nvfp4_linear against cuBLAS with full-precision weights in the same dtype, both timed in the
// same run over rotating weight copies (so L2 never serves the weights), and against the memory floor set by a
// device-to-device copy measured in the same run. Prints a table; --csv writes bench/results/ rows. Never asserts.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>

#include "dispatch/tile_select.hpp"
#include "gpu_test_env.hpp"
#include "harness.hpp"
#include "marlin_jit/nvfp4_linear.hpp"
#include "marlin_jit/runtime.hpp"
#include "nvfp4_checkpoint.hpp"
#include "results_csv.hpp"

namespace marlin_jit::bench {
namespace {

using test::CublasHandle;
using test::CudaStream;
using test::DeviceBuffer;

struct Options {
  std::vector<DType> dtypes = {DType::fp16, DType::bf16};
  std::vector<std::int64_t> ms = {1, 16, 64, 256, 1024, 4096};
  std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {
      {8192, 8192}, {28672, 8192}, {8192, 28672}, {4096, 4096}};
  int warmup = 10;
  int repeats = 100;
  double rotate_bytes = 512.0 * (1 << 20);  // ≥ 10× the 50 MB L2 of an H100
  std::string cache_dir;
  std::string csv;
};

// Returns the options, or the exit code when parsing ended the program (--help: 0, a bad option: 2).
std::variant<Options, int> parse_options(int argc, char** argv) {
  Options options;
  CLI::App app{"bench_gemm: NVFP4 dense GEMM against cuBLAS and the memory floor"};
  std::vector<std::string> dtypes, shapes;
  bool quick = false;
  double rotate_mb = options.rotate_bytes / (1 << 20);
  app.add_option("--dtype", dtypes, "fp16, bf16 (default both)")->delimiter(',')->check(CLI::IsMember({"fp16", "bf16"}));
  app.add_option("--m", options.ms, "M values")->delimiter(',');
  app.add_option("--shapes", shapes, "N x K pairs, e.g. 8192x8192")->delimiter(',');
  app.add_flag("--quick", quick, "20 repeats after 3 warm-ups instead of 100 after 10");
  app.add_option("--repeats", options.repeats);
  app.add_option("--warmup", options.warmup);
  app.add_option("--rotate-mb", rotate_mb, "weights rotated per timing loop, so L2 never serves them");
  app.add_option("--cache-dir", options.cache_dir);
  app.add_option("--csv", options.csv, "write one row per case");
  try {
    app.parse(argc, argv);
    if (!shapes.empty()) options.shapes.clear();
    for (const std::string& shape : shapes) {
      const std::vector<std::string> nk = split(shape, 'x');
      if (nk.size() != 2) throw CLI::ValidationError("--shapes", "a shape is NxK, got " + shape);
      options.shapes.emplace_back(std::stoll(nk[0]), std::stoll(nk[1]));
    }
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }
  if (!dtypes.empty()) {
    options.dtypes.clear();
    for (const std::string& name : dtypes) options.dtypes.push_back(name == "fp16" ? DType::fp16 : DType::bf16);
  }
  if (quick) {
    options.warmup = 3;
    options.repeats = 20;
  }
  options.rotate_bytes = rotate_mb * (1 << 20);
  return options;
}

std::int64_t copies_for(double bytes_per_copy, double rotate_bytes, std::int64_t at_least) {
  return std::max<std::int64_t>(at_least, static_cast<std::int64_t>(std::ceil(rotate_bytes / bytes_per_copy)));
}

void print_header() {
  std::printf("%-5s %6s %6s %6s | %9s %9s %9s %7s | %8s %6s %7s %7s | %9s %6s | %9s %10s %s\n", "dtype", "M", "N",
              "K", "ours_us", "p90_us", "cublas_us", "speedup", "w_GB/s", "bw%", "TFLOP/s", "cuTF/s", "floor_us",
              "/floor", "marlin_us", "dequant_us", "path");
}

struct Context {
  const Options& options;
  Runtime& runtime;
  CudaStream& stream;
  CublasHandle& cublas;
  double copy_gbps;
  ResultsCsv& csv;
};

void run_shape(Context& ctx, std::int64_t n, std::int64_t k) {
  const double nk = static_cast<double>(n) * static_cast<double>(k);
  const double weight_bytes = nk / 2 + nk / 16;
  const std::int64_t our_copies = copies_for(weight_bytes, ctx.options.rotate_bytes, 4);

  std::vector<PreparedNvfp4Linear> layers;
  {
    const test::Nvfp4HostLayer host =
        test::make_realistic_layer(n, k, test::stream_seed(2026, static_cast<std::uint64_t>(n * k)));
    const DeviceBuffer weight = DeviceBuffer::from_host(host.weight);
    const DeviceBuffer scale = DeviceBuffer::from_host(host.weight_scale);
    Nvfp4CheckpointLayer checkpoint;
    checkpoint.weight = weight.address();
    checkpoint.weight_scale = scale.address();
    checkpoint.weight_scale_2 = host.global_scale;
    checkpoint.n = n;
    checkpoint.k = k;
    layers.reserve(static_cast<std::size_t>(our_copies));
    for (std::int64_t c = 0; c < our_copies; ++c) {
      layers.push_back(prepare_nvfp4_linear(ctx.runtime, checkpoint, ctx.stream.get()));
    }
  }

  for (DType dtype : ctx.options.dtypes) {
    const std::int64_t dense_copies = copies_for(nk * 2, ctx.options.rotate_bytes, 2);
    std::vector<DeviceBuffer> dense;
    dense.push_back(DeviceBuffer::from_host(test::random_half_values(n * k, dtype, test::stream_seed(7, 1))));
    for (std::int64_t c = 1; c < dense_copies; ++c) {
      dense.emplace_back(dense[0].bytes());
      MARLIN_JIT_CUDA(cudaMemcpy(dense.back().get(), dense[0].get(), dense[0].bytes(), cudaMemcpyDeviceToDevice));
    }
    const cudaDataType type = dtype == DType::fp16 ? CUDA_R_16F : CUDA_R_16BF;

    for (std::int64_t m : ctx.options.ms) {
      try {
        const DeviceBuffer a = DeviceBuffer::from_host(test::random_half_values(m * k, dtype, test::stream_seed(7, 2)));
        DeviceBuffer out(static_cast<std::size_t>(m * n) * 2);
        LinearApplyArgs args;
        args.input = a.address();
        args.output = out.address();
        args.m = m;
        args.dtype = dtype;
        // Both paths forced, so every row shows the crossover; `ours` is the one automatic dispatch takes (when
        // libcublas is present), timed through the same apply call.
        const auto time_path = [&](GemmPath path) {
          LinearApplyArgs forced = args;
          forced.path = path;
          return time_on_stream(ctx.stream.get(), ctx.options.warmup, ctx.options.repeats, [&](int i) {
            apply_nvfp4_linear(ctx.runtime, layers[static_cast<std::size_t>(i) % layers.size()], forced,
                               ctx.stream.get());
          });
        };
        const Timing marlin = time_path(GemmPath::marlin);
        const Timing dequant = time_path(GemmPath::dequant_cublas);
        const bool automatic_dequant = dispatch::prefer_dequant_gemm(m, n, k);
        const Timing& ours = automatic_dequant ? dequant : marlin;
        const char* path = automatic_dequant ? "dequant+cublas" : "marlin";
        const float alpha = 1, beta = 0;
        const Timing cublas = time_on_stream(ctx.stream.get(), ctx.options.warmup, ctx.options.repeats, [&](int i) {
          // Row-major out[m][n] = a[m][k] · W[n][k]ᵀ, in cuBLAS's column-major terms outᵀ = W · aᵀ.
          MARLIN_JIT_CUBLAS(cublasGemmEx(ctx.cublas.get(), CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(n),
                                         static_cast<int>(m), static_cast<int>(k), &alpha,
                                         dense[static_cast<std::size_t>(i) % dense.size()].get(), type,
                                         static_cast<int>(k), a.get(), type, static_cast<int>(k), &beta, out.get(),
                                         type, static_cast<int>(n), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
        });
        const double flops = 2.0 * static_cast<double>(m) * nk;
        const double seconds = ours.median_us * 1e-6;
        const double weight_gbps = weight_bytes / seconds / 1e9;
        const double bw_share = weight_gbps / ctx.copy_gbps;
        const double tflops = flops / seconds / 1e12;
        const double cublas_tflops = flops / (cublas.median_us * 1e-6) / 1e12;
        const double floor_bytes = nk * 0.5625 + 2.0 * static_cast<double>(m) * static_cast<double>(k + n);
        const double floor_us = floor_bytes / (ctx.copy_gbps * 1e9) * 1e6;
        const double speedup = cublas.median_us / ours.median_us;
        std::printf("%-5s %6lld %6lld %6lld | %9.1f %9.1f %9.1f %6.2fx | %8.0f %5.1f%% %7.1f %7.1f | %9.1f %5.2fx | %9.1f %10.1f %s\n",
                    test::dtype_name(dtype), static_cast<long long>(m), static_cast<long long>(n),
                    static_cast<long long>(k), ours.median_us, ours.p90_us, cublas.median_us, speedup, weight_gbps,
                    100 * bw_share, tflops, cublas_tflops, floor_us, ours.median_us / floor_us, marlin.median_us,
                    dequant.median_us, path);
        std::fflush(stdout);
        ctx.csv.add({test::dtype_name(dtype), std::to_string(m), std::to_string(n), std::to_string(k),
                     fixed(ours.median_us, 2), fixed(ours.p90_us, 2), fixed(cublas.median_us, 2), fixed(speedup, 3),
                     fixed(weight_gbps, 1), fixed(ctx.copy_gbps, 1), fixed(bw_share, 4), fixed(tflops, 2),
                     fixed(floor_us, 2), fixed(marlin.median_us, 2), fixed(dequant.median_us, 2), path});
      } catch (const std::exception& e) {
        std::printf("%-5s %6lld %6lld %6lld | failed: %s\n", test::dtype_name(dtype), static_cast<long long>(m),
                    static_cast<long long>(n), static_cast<long long>(k), e.what());
        cudaGetLastError();
      }
    }
  }
}

int run(int argc, char** argv) {
  std::variant<Options, int> parsed = parse_options(argc, argv);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  Options& options = std::get<Options>(parsed);
  const test::GpuInfo& gpu = test::gpu_info();
  if (!gpu.present) {
    std::fprintf(stderr, "bench_gemm: cannot run: %s\n", gpu.reason.c_str());
    return 2;
  }
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  std::printf("# %s (sm_%d), %s, commit %s\n# %s\n", gpu.name.c_str(), gpu.sm, utc_date().c_str(), commit_id().c_str(),
              command.c_str());

  CudaStream stream;
  CublasHandle cublas(stream.get());
  RuntimeOptions runtime_options;
  if (!options.cache_dir.empty()) runtime_options.cache_dir = options.cache_dir;
  Runtime runtime(runtime_options);
  ResultsCsv csv(options.csv, {"dtype", "M", "N", "K", "ours_us", "ours_p90_us", "cublas_us", "speedup", "weight_GBps",
                               "copy_GBps", "bw_share", "tflops", "floor_us", "marlin_us", "dequant_us", "path"});

  const double copy_gbps = measure_copy_bandwidth(stream.get(), options.warmup, options.repeats);
  std::printf("# device-to-device copy: %.0f GB/s (read + write); %d warm-ups, %d repeats, median\n", copy_gbps,
              options.warmup, options.repeats);
  print_header();
  Context ctx{options, runtime, stream, cublas, copy_gbps, csv};
  for (const auto& [n, k] : options.shapes) {
    try {
      run_shape(ctx, n, k);
    } catch (const std::exception& e) {
      std::printf("N=%lld K=%lld: failed: %s\n", static_cast<long long>(n), static_cast<long long>(k), e.what());
      cudaGetLastError();
    }
  }
  csv.save();
  if (!options.csv.empty()) std::printf("# wrote %s\n", options.csv.c_str());
  return 0;
}

}  // namespace
}  // namespace marlin_jit::bench

int main(int argc, char** argv) { return marlin_jit::bench::run(argc, argv); }
