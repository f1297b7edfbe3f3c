// GPU tests for runtime/src/checkpoint/nvfp4_loader.cpp: a ModelOpt-layout checkpoint written by the test (sharded,
// realistic and adversarial layers) is loaded with load_nvfp4_checkpoint; every layer applied to fresh random
// activations matches the float64 reference of the written weights, and is bit-identical to the same layer prepared
// directly from the written host bytes. Skips without a Marlin-capable GPU.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "gpu_test_env.hpp"
#include "marlin_jit/checkpoint.hpp"
#include "marlin_jit/nvfp4_linear.hpp"
#include "marlin_jit/runtime.hpp"
#include "modelopt_checkpoint_writer.hpp"
#include "reference_gemm.hpp"
#include "test_seed.hpp"

namespace marlin_jit::test {
namespace {

// Activations are rounded to the dtype before the reference sees them; what is left is the output's rounding
// and fp32 accumulation (the dense suite's cuBLAS baseline bars).
double tolerance(DType dtype) { return dtype == DType::fp16 ? 2e-3 : 1e-2; }

RuntimeOptions test_runtime_options() {
  RuntimeOptions options;
  options.cache_dir = test_cache_dir();
  return options;
}

std::vector<std::uint16_t> apply(Runtime& runtime, const PreparedNvfp4Linear& layer, const DeviceBuffer& input,
                                 std::int64_t m, DType dtype, const CudaStream& stream) {
  DeviceBuffer output(static_cast<std::size_t>(m * layer.n()) * 2);
  output.fill_bytes(0xFF, stream.get());
  LinearApplyArgs args;
  args.input = input.address();
  args.output = output.address();
  args.m = m;
  args.dtype = dtype;
  apply_nvfp4_linear(runtime, layer, args, stream.get());
  stream.synchronize();
  return output.to_host<std::uint16_t>();
}

TEST(CheckpointLoad, EveryLayerMatchesTheWrittenWeights) {
  MARLIN_JIT_SKIP_WITHOUT_MARLIN_GPU();
  TempCacheDir folder("marlin_jit_checkpoint");
  ModelOptCheckpointSpec spec = llama_like_spec(1, 256, 320, 64, seed_for("checkpoint_load/spec"));
  spec.layers.push_back({"model.layers.0.mlp.experts.0.w1", 128, 256, CheckpointKind::adversarial, false});
  spec.layers.push_back({"model.layers.0.mlp.experts.1.w2", 256, 112, CheckpointKind::adversarial, true});
  spec.shards = 2;
  const WrittenCheckpoint written = write_modelopt_checkpoint(folder.path(), spec);

  Runtime runtime(test_runtime_options());
  CudaStream stream;
  const LoadedNvfp4Checkpoint loaded = load_nvfp4_checkpoint(runtime, folder.path(), stream.get());
  ASSERT_EQ(loaded.layers.size(), spec.layers.size());
  ASSERT_EQ(loaded.unquantized_modules.size(), spec.unquantized.size());

  for (const std::string& prefix : loaded.layer_order) {
    const Nvfp4HostLayer& host = written.layers.at(prefix);
    const PreparedNvfp4Linear& layer = loaded.layers.at(prefix);
    ASSERT_EQ(layer.n(), host.n);
    ASSERT_EQ(layer.k(), host.k);
    const DeviceBuffer weight = DeviceBuffer::from_host(host.weight);
    const DeviceBuffer scale = DeviceBuffer::from_host(host.weight_scale);
    const PreparedNvfp4Linear direct = prepare_nvfp4_linear(
        runtime, {weight.address(), scale.address(), host.global_scale, host.n, host.k}, stream.get());
    const std::vector<double> w = host.dequantized();
    for (DType dtype : {DType::bf16, DType::fp16}) {
      for (std::int64_t m : {std::int64_t{1}, std::int64_t{37}}) {
        const auto a_bits = random_half_values(m * host.k, dtype, seed_for(prefix + dtype_name(dtype)) + m);
        const DeviceBuffer input = DeviceBuffer::from_host(a_bits);
        const auto ours = apply(runtime, layer, input, m, dtype, stream);
        const auto reference = reference_gemm(half_values_to_double(a_bits, dtype), w, {}, m, host.n, host.k);
        const double rel = relative_l2_error(half_values_to_double(ours, dtype), reference);
        std::printf("[ checkpoint ] %-40s %s m=%-3lld n=%-4lld k=%-4lld rel=%.3e\n", prefix.c_str(),
                    dtype_name(dtype), static_cast<long long>(m), static_cast<long long>(host.n),
                    static_cast<long long>(host.k), rel);
        EXPECT_LT(rel, tolerance(dtype)) << prefix << " " << dtype_name(dtype) << " m=" << m;
        EXPECT_EQ(ours, apply(runtime, direct, input, m, dtype, stream))
            << prefix << ": the loaded layer differs from the one prepared from the written bytes";
      }
    }
  }
}

TEST(CheckpointLoad, BadCheckpointIsRefusedBeforeAnyGpuWork) {
  MARLIN_JIT_SKIP_WITHOUT_MARLIN_GPU();
  TempCacheDir folder("marlin_jit_checkpoint");
  write_modelopt_checkpoint(folder.path(), llama_like_spec(1, 64, 96, 32, seed_for("checkpoint_load/bad")));
  write_text(folder.path() / "hf_quant_config.json", R"({"quantization": {"quant_algo": "NVFP4", "group_size": 32}})");
  Runtime runtime(test_runtime_options());
  CudaStream stream;
  const CaptureOutcome outcome = capture_enqueued_work(
      stream.get(), [&] { load_nvfp4_checkpoint(runtime, folder.path(), stream.get()); });
  const auto error = config_error(outcome.error);
  ASSERT_TRUE(error.has_value()) << describe(outcome.error);
  EXPECT_EQ(error->rule(), "quant_group_size");
  EXPECT_EQ(outcome.nodes, 0u);
}

}  // namespace
}  // namespace marlin_jit::test
