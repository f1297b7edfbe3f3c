// marlin-jit-example: a minimal engine over the public API. Opens a ModelOpt NVFP4 checkpoint folder (checked on
// the CPU), prepares every quantized layer, runs the layers as a forward chain on random activations (a layer's
// output feeds the next when its width is the next one's K, fresh activations otherwise), and prints per-layer
// times and the kernel cache's statistics. Without a usable GPU it prints what it loaded and says why it stops.
#include <CLI/CLI.hpp>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "marlin_jit/marlin_jit.hpp"

namespace {

struct Options {
  std::string folder;
  std::int64_t m = 16;
  std::string dtype = "bf16";
  int repeats = 20;
  std::string cache_dir;
};

#define EXAMPLE_CUDA(call) check_cuda((call), #call)
void check_cuda(cudaError_t status, const char* call) {
  if (status != cudaSuccess) throw std::runtime_error(std::string(call) + ": " + cudaGetErrorString(status));
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

void print_checkpoint(const marlin_jit::Nvfp4Checkpoint& checkpoint) {
  const auto& config = checkpoint.quant_config();
  std::printf("checkpoint %s: %s group %d (%s %s, from %s), %zu NVFP4 layers, %zu unquantized modules\n",
              checkpoint.folder().c_str(), config.quant_algo.c_str(), config.group_size, config.producer_name.c_str(),
              config.producer_version.c_str(), config.source.filename().c_str(), checkpoint.layers().size(),
              checkpoint.unquantized_modules().size());
  for (const auto& layer : checkpoint.layers()) {
    std::printf("  nvfp4  %-48s N %-6lld K %-6lld weight_scale_2 %.6g%s\n", layer.prefix.c_str(),
                static_cast<long long>(layer.n), static_cast<long long>(layer.k), layer.weight_scale_2,
                layer.input_scale ? (" input_scale " + std::to_string(*layer.input_scale)).c_str() : "");
  }
  for (const auto& module : checkpoint.unquantized_modules()) {
    std::printf("  as-is  %-48s %s %s%s\n", module.prefix.c_str(), module.dtype.c_str(),
                shape_text(module.shape).c_str(), module.excluded ? " (excluded by the quant config)" : "");
  }
}

// Why no layer can run here, or nothing when a Marlin-capable GPU is present.
std::optional<std::string> gpu_missing_reason() {
  if (auto reason = marlin_jit::driver_unavailable_reason()) return "no CUDA driver: " + *reason;
  const auto devices = marlin_jit::list_devices();
  if (devices.empty()) return std::string("no CUDA device visible");
  if (!marlin_jit::is_supported_sm(devices.front().sm())) {
    return devices.front().name + " is sm_" + std::to_string(devices.front().sm()) + ", outside sm_80..sm_90";
  }
  return std::nullopt;
}

// Device memory of `count` random N(0, 1) values in the dtype.
void* random_activations(std::int64_t count, marlin_jit::DType dtype, std::mt19937& rng) {
  std::normal_distribution<float> normal;
  std::vector<std::uint16_t> bits(static_cast<std::size_t>(count));
  for (auto& value : bits) {
    const float x = normal(rng);
    value = dtype == marlin_jit::DType::bf16 ? static_cast<__nv_bfloat16_raw>(__float2bfloat16_rn(x)).x
                                             : static_cast<__half_raw>(__float2half_rn(x)).x;
  }
  void* device = nullptr;
  EXAMPLE_CUDA(cudaMalloc(&device, bits.size() * 2));
  EXAMPLE_CUDA(cudaMemcpy(device, bits.data(), bits.size() * 2, cudaMemcpyHostToDevice));
  return device;
}

struct LayerTiming {
  double first_call_ms = 0;  // includes compiling or loading the kernel
  double mean_us = 0;        // per launch over the timed repeats
};

LayerTiming time_layer(marlin_jit::Runtime& runtime, const marlin_jit::PreparedNvfp4Linear& layer,
                       const marlin_jit::LinearApplyArgs& args, int repeats, cudaStream_t stream) {
  LayerTiming timing;
  const auto start = std::chrono::steady_clock::now();
  marlin_jit::apply_nvfp4_linear(runtime, layer, args, stream);
  EXAMPLE_CUDA(cudaStreamSynchronize(stream));
  timing.first_call_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  cudaEvent_t begin, end;
  EXAMPLE_CUDA(cudaEventCreate(&begin));
  EXAMPLE_CUDA(cudaEventCreate(&end));
  EXAMPLE_CUDA(cudaEventRecord(begin, stream));
  for (int i = 0; i < repeats; ++i) marlin_jit::apply_nvfp4_linear(runtime, layer, args, stream);
  EXAMPLE_CUDA(cudaEventRecord(end, stream));
  EXAMPLE_CUDA(cudaEventSynchronize(end));
  float ms = 0;
  EXAMPLE_CUDA(cudaEventElapsedTime(&ms, begin, end));
  timing.mean_us = 1000.0 * ms / repeats;
  cudaEventDestroy(begin);
  cudaEventDestroy(end);
  return timing;
}

void run_chain(marlin_jit::Runtime& runtime, const marlin_jit::LoadedNvfp4Checkpoint& loaded, const Options& options,
               cudaStream_t stream) {
  const marlin_jit::DType dtype = *marlin_jit::parse_dtype(options.dtype);
  std::mt19937 rng(1234);
  void* activation = nullptr;
  std::int64_t width = -1;
  double total_us = 0;
  std::printf("forward chain, M %lld, %s, %d timed repeats per layer:\n", static_cast<long long>(options.m),
              options.dtype.c_str(), options.repeats);
  for (const std::string& prefix : loaded.layer_order) {
    const marlin_jit::PreparedNvfp4Linear& layer = loaded.layers.at(prefix);
    const bool chained = width == layer.k();
    if (!chained) {
      cudaFree(activation);
      activation = random_activations(options.m * layer.k(), dtype, rng);
    }
    void* output = nullptr;
    EXAMPLE_CUDA(cudaMalloc(&output, static_cast<std::size_t>(options.m * layer.n()) * 2));
    marlin_jit::LinearApplyArgs args;
    args.input = reinterpret_cast<CUdeviceptr>(activation);
    args.output = reinterpret_cast<CUdeviceptr>(output);
    args.m = options.m;
    args.dtype = dtype;
    const LayerTiming timing = time_layer(runtime, layer, args, options.repeats, stream);
    total_us += timing.mean_us;
    std::printf("  %-48s N %-6lld K %-6lld %-7s first call %8.2f ms, then %8.2f us/launch\n", prefix.c_str(),
                static_cast<long long>(layer.n()), static_cast<long long>(layer.k()), chained ? "chained" : "fresh",
                timing.first_call_ms, timing.mean_us);
    cudaFree(activation);
    activation = output;
    width = layer.n();
  }
  cudaFree(activation);
  std::printf("chain total: %.2f us per forward pass (%zu layers)\n", total_us, loaded.layer_order.size());
}

void print_cache_statistics(const marlin_jit::Runtime& runtime) {
  const marlin_jit::CacheStatistics stats = runtime.cache_statistics();
  std::printf("kernel cache %s%s: %llu memory hits, %llu disk hits, %llu compiles (%.2f s), %llu entries, "
              "%llu bytes of %llu, %llu damaged entries\n",
              stats.directory.c_str(), stats.writable ? "" : " (read-only)",
              static_cast<unsigned long long>(stats.memory_hits), static_cast<unsigned long long>(stats.disk_hits),
              static_cast<unsigned long long>(stats.compiles), stats.compile_seconds,
              static_cast<unsigned long long>(stats.entries), static_cast<unsigned long long>(stats.bytes),
              static_cast<unsigned long long>(stats.max_bytes), static_cast<unsigned long long>(stats.damaged_entries));
}

int run(const Options& options) {
  const marlin_jit::Nvfp4Checkpoint checkpoint = marlin_jit::Nvfp4Checkpoint::open(options.folder);
  print_checkpoint(checkpoint);
  if (auto reason = gpu_missing_reason()) {
    std::printf("checkpoint checked on the CPU; not preparing or running it: %s\n", reason->c_str());
    return 0;
  }
  marlin_jit::RuntimeOptions runtime_options;
  if (!options.cache_dir.empty()) runtime_options.cache_dir = options.cache_dir;
  marlin_jit::Runtime runtime(runtime_options);
  EXAMPLE_CUDA(cudaSetDevice(0));
  cudaStream_t stream;
  EXAMPLE_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  const auto start = std::chrono::steady_clock::now();
  const marlin_jit::LoadedNvfp4Checkpoint loaded = marlin_jit::load_nvfp4_checkpoint(runtime, checkpoint, stream);
  std::printf("loaded and prepared %zu layers in %.1f ms\n", loaded.layers.size(),
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  run_chain(runtime, loaded, options, stream);
  print_cache_statistics(runtime);
  EXAMPLE_CUDA(cudaStreamDestroy(stream));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Load a ModelOpt NVFP4 checkpoint and run its linear layers as a forward chain"};
  Options options;
  app.add_option("folder", options.folder, "Checkpoint folder (safetensors + hf_quant_config.json)")->required();
  app.add_option("--m", options.m, "Rows of activations (tokens)")->check(CLI::Range(1, 1 << 20));
  app.add_option("--dtype", options.dtype, "Activation dtype")->check(CLI::IsMember({"bf16", "fp16"}));
  app.add_option("--repeats", options.repeats, "Timed launches per layer")->check(CLI::Range(1, 100000));
  app.add_option("--cache-dir", options.cache_dir, "Kernel cache folder (default: the runtime's)");
  CLI11_PARSE(app, argc, argv);
  try {
    return run(options);
  } catch (const marlin_jit::Error& error) {
    std::fprintf(stderr, "marlin-jit-example: %s\n", error.what());
    return 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "marlin-jit-example: %s\n", error.what());
    return 1;
  }
}
