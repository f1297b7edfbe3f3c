// bench_jit: what the JIT costs, per kernel, through the public Runtime API: a cold compile (fresh Runtime on an
// empty cache folder), a warm disk hit (new Runtime, same folder) with and without the module load, an in-memory
// hit, and the cubin's size and resources. Works without a GPU for the compile figures. Never asserts.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>

#include "compile/kernel_catalog.hpp"
#include "gpu_test_env.hpp"
#include "marlin_jit/error.hpp"
#include "marlin_jit/kernel_spec.hpp"
#include "marlin_jit/runtime.hpp"
#include "results_csv.hpp"

namespace marlin_jit::bench {
namespace {

using test::TempCacheDir;
using Clock = std::chrono::steady_clock;

struct Kernel {
  std::string label;
  KernelRequest request;
  std::optional<std::filesystem::path> template_dir;  // set for the baseline's own template folder
};

struct Options {
  std::vector<std::string> specs;
  std::vector<KernelRequest> requests;
  std::string arch;
  int cold_repeats = 3;
  int hits = 100000;
  bool baseline = true;
  std::string csv;
};

// Returns the options, or the exit code when parsing ended the program (--help: 0, a bad option: 2).
std::variant<Options, int> parse_options(int argc, char** argv) {
  Options options;
  CLI::App app{"bench_jit: what the JIT costs per kernel (cold compile, disk hit, load, memory hit)"};
  std::vector<std::pair<std::string, std::string>> requests;
  bool no_baseline = false;
  app.add_option("--spec", options.specs, "kernel spec, e.g. dense/nvfp4/bf16/g16/sm_90/t256m1n8k8s8 (repeatable)");
  app.add_option("--request", requests, "HEADER NAME_EXPRESSION: any template instantiation (repeatable)");
  app.add_option("--arch", options.arch, "sm_NN for --request and the default specs (default: the GPU's, else sm_90)");
  app.add_option("--cold-repeats", options.cold_repeats)->check(CLI::PositiveNumber);
  app.add_option("--hits", options.hits)->check(CLI::PositiveNumber);
  app.add_flag("--no-baseline", no_baseline, "skip the one-line kernel that shows NVRTC's floor");
  app.add_option("--csv", options.csv, "write one row per kernel");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }
  for (const auto& [header, name] : requests) options.requests.push_back({header, name, ""});
  options.baseline = !no_baseline;
  return options;
}

// The NVRTC floor: a one-line template kernel in a template folder of its own, compiled the same way.
Kernel baseline_kernel(const std::filesystem::path& folder, const std::string& arch) {
  std::filesystem::create_directories(folder / "marlin_jit" / "bench");
  std::ofstream(folder / "marlin_jit" / "bench" / "noop.cuh")
      << "#pragma once\nnamespace marlin_jit::bench_kernels {\n"
         "template <int N> __global__ void noop(float* out) { if (out) out[threadIdx.x] = N; }\n}\n";
  Kernel kernel;
  kernel.label = "baseline noop<1>";
  kernel.request.entry_header = "marlin_jit/bench/noop.cuh";
  kernel.request.name_expression = "marlin_jit::bench_kernels::noop<1>";
  kernel.request.arch = arch;
  kernel.template_dir = folder;
  return kernel;
}

RuntimeOptions runtime_options(const std::filesystem::path& cache_dir, const Kernel& kernel) {
  RuntimeOptions options;
  options.cache_dir = cache_dir;
  options.template_dir = kernel.template_dir;
  return options;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// `device_arch` is the GPU's ("sm_90"), or empty without one: loads are timed only where the cubin can load.
void measure(const Kernel& kernel, const Options& options, const std::string& device_arch, ResultsCsv& csv) {
  // Cold: every repeat a fresh Runtime on an empty folder, so neither the disk nor the memory layer can answer.
  std::vector<double> cold;
  CompiledKernel compiled;
  std::optional<TempCacheDir> warm_dir;
  for (int r = 0; r < options.cold_repeats; ++r) {
    warm_dir.emplace("marlin_jit_bench_jit");
    Runtime runtime(runtime_options(warm_dir->path(), kernel));
    const auto start = Clock::now();
    compiled = runtime.compile(kernel.request);
    cold.push_back(seconds_since(start));
  }
  // Warm disk: a new Runtime on the last folder; compile() reads the entry, get_kernel() also loads the module.
  double disk_hit_ms = 0;
  {
    Runtime runtime(runtime_options(warm_dir->path(), kernel));
    const auto start = Clock::now();
    const CompiledKernel hit = runtime.compile(kernel.request);
    disk_hit_ms = 1e3 * seconds_since(start);
    if (hit.origin != KernelOrigin::disk)
      std::printf("  note: expected a disk hit, got %s\n", to_string(hit.origin).c_str());
  }
  std::string disk_load_ms = "n/a", memory_hit_ns = "n/a";
  if (!device_arch.empty() && device_arch == kernel.request.arch) {
    Runtime runtime(runtime_options(warm_dir->path(), kernel));
    auto start = Clock::now();
    runtime.get_kernel(kernel.request);
    disk_load_ms = fixed(1e3 * seconds_since(start), 3);
    start = Clock::now();
    for (int i = 0; i < options.hits; ++i) runtime.get_kernel(kernel.request);
    memory_hit_ns = fixed(1e9 * seconds_since(start) / options.hits, 1);
  }
  const KernelStats& stats = compiled.stats;
  std::printf("%-58s %8.3f %8.3f %8.3f %9.3f %9s %9s %9llu %5d %6d\n", kernel.label.c_str(), median(cold),
              *std::min_element(cold.begin(), cold.end()), stats.compile_seconds, disk_hit_ms, disk_load_ms.c_str(),
              memory_hit_ns.c_str(), static_cast<unsigned long long>(stats.cubin_bytes), stats.registers,
              stats.spill_bytes);
  std::fflush(stdout);
  csv.add({kernel.label, kernel.request.arch, fixed(median(cold), 4),
           fixed(*std::min_element(cold.begin(), cold.end()), 4), fixed(stats.compile_seconds, 4),
           fixed(disk_hit_ms, 3), disk_load_ms, memory_hit_ns, std::to_string(stats.cubin_bytes),
           std::to_string(stats.registers), std::to_string(stats.spill_bytes)});
}

int run(int argc, char** argv) {
  std::variant<Options, int> parsed = parse_options(argc, argv);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  Options& options = std::get<Options>(parsed);
  const test::GpuInfo& gpu = test::gpu_info();
  if (options.arch.empty()) options.arch = gpu.present ? "sm_" + std::to_string(gpu.sm) : "sm_90";
  const std::string sm = options.arch.substr(options.arch.find('_') + 1);

  std::vector<Kernel> kernels;
  TempCacheDir baseline_templates("marlin_jit_bench_jit_templates");
  if (options.baseline) kernels.push_back(baseline_kernel(baseline_templates.path(), options.arch));
  if (options.specs.empty() && options.requests.empty()) {
    // Stage counts are what the dispatcher picks on an H100 for these tiles (deepest that fits two blocks per SM).
    for (const char* tile : {"t256m1n8k8s8", "t256m4n8k8s4", "t128m1n4k4s8"}) {
      options.specs.push_back("dense/nvfp4/bf16/g16/sm_" + sm + "/" + tile);
    }
    options.specs.push_back("dense/nvfp4/fp16/g16/sm_" + sm + "/t256m1n8k8s8");
  }
  try {
    for (const std::string& text : options.specs)
      kernels.push_back({text, request_for(parse_kernel_spec(text)), {}});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_jit: %s\n", e.what());
    return 2;
  }
  for (KernelRequest request : options.requests) {
    request.arch = options.arch;
    kernels.push_back({request.name_expression, request, {}});
  }

  std::printf("# %s, %s, commit %s; %d cold repeats (median, min), %d memory hits\n",
              gpu.present ? gpu.name.c_str() : ("no GPU: " + gpu.reason).c_str(), utc_date().c_str(),
              commit_id().c_str(), options.cold_repeats, options.hits);
  std::printf("%-58s %8s %8s %8s %9s %9s %9s %9s %5s %6s\n", "kernel", "cold_s", "min_s", "nvrtc_s", "disk_ms",
              "load_ms", "hit_ns", "cubin_B", "regs", "spill");
  ResultsCsv csv(options.csv, {"kernel", "arch", "cold_s", "cold_min_s", "nvrtc_s", "disk_hit_ms", "disk_load_ms",
                               "memory_hit_ns", "cubin_bytes", "registers", "spill_bytes"});
  for (const Kernel& kernel : kernels) {
    try {
      measure(kernel, options, gpu.present ? "sm_" + std::to_string(gpu.sm) : std::string(), csv);
    } catch (const CompileError& e) {
      std::printf("%-58s compile failed: %s\n", kernel.label.c_str(), e.what());
    } catch (const std::exception& e) {
      std::printf("%-58s failed: %s\n", kernel.label.c_str(), e.what());
    }
  }
  csv.save();
  if (!options.csv.empty()) std::printf("# wrote %s\n", options.csv.c_str());
  return 0;
}

}  // namespace
}  // namespace marlin_jit::bench

int main(int argc, char** argv) { return marlin_jit::bench::run(argc, argv); }
