// The preparation kernels, launched as the layers launch them (ops::enqueue_nvfp4_prepare), give exactly the CPU
// reference's bytes: realistic/adversarial checkpoints, N and K padded (464 → 512), batched expert stacks with and
// without the gated interleave; NaN scales are flagged in any expert; the dequantizer rounds checkpoint values once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "test_seed.hpp"
#include "compile/kernel_catalog.hpp"
#include "gpu_test_env.hpp"
#include "marlin_jit/runtime.hpp"
#include "moe_reference.hpp"
#include "nvfp4_checkpoint.hpp"
#include "nvfp4_prepared_reference.hpp"
#include "ops/nvfp4_prepare.hpp"
#include "ops/prep_launch.hpp"

namespace marlin_jit::test {
namespace {

// One Runtime per process on the GPU tests' shared kernel cache ($MARLIN_JIT_TEST_CACHE_DIR, else a folder under
// the system temp folder), so the one-process-per-case ctest runs compile each preparation kernel once.
std::unique_ptr<Runtime>& runtime_slot() {
  static std::unique_ptr<Runtime> slot;
  return slot;
}
Runtime& runtime() {
  if (!runtime_slot()) {
    RuntimeOptions options;
    options.cache_dir = test_cache_dir();
    runtime_slot() = std::make_unique<Runtime>(options);
  }
  return *runtime_slot();
}

// The Runtime goes before cudart's own teardown at exit.
class ReleaseBeforeExit : public ::testing::Environment {
 public:
  void TearDown() override { runtime_slot().reset(); }
};
[[maybe_unused]] ::testing::Environment* const kReleaseBeforeExit =
    ::testing::AddGlobalTestEnvironment(new ReleaseBeforeExit);

// A stack of checkpoint layers (all n × k) prepared on the GPU, one call for every expert.
struct GpuPrepared {
  std::int64_t experts = 0, n_padded = 0, k_padded = 0;
  DeviceBuffer words, scales;
  int nan_found = 0;

  std::int64_t words_per_expert() const { return ops::prepared_words(n_padded, k_padded); }
  std::int64_t scale_bytes_per_expert() const { return ops::prepared_scale_bytes(n_padded, k_padded); }
};

GpuPrepared prepare_on_gpu(const std::vector<Nvfp4HostLayer>& layers, std::int64_t n_padded, std::int64_t k_padded,
                           std::int64_t gated_rows, const CudaStream& stream) {
  GpuPrepared out;
  out.experts = static_cast<std::int64_t>(layers.size());
  out.n_padded = n_padded;
  out.k_padded = k_padded;
  const DeviceBuffer weight = DeviceBuffer::from_host(stacked_weights(layers));
  const DeviceBuffer scale = DeviceBuffer::from_host(stacked_scales(layers));
  MARLIN_JIT_CUDA(cudaDeviceSynchronize());  // a pageable cudaMemcpy may return before its DMA lands
  out.words = DeviceBuffer(static_cast<std::size_t>(out.words_per_expert() * out.experts) * 4);
  out.scales = DeviceBuffer(static_cast<std::size_t>(out.scale_bytes_per_expert() * out.experts));
  DeviceBuffer nan_flag(sizeof(int));
  out.words.fill_bytes(0xAB, stream.get());  // poison: every prepared byte, padding included, must be written
  out.scales.fill_bytes(0xAB, stream.get());
  nan_flag.fill_bytes(0, stream.get());
  ops::Nvfp4PrepareJob job;
  job.checkpoint_weight = weight.address();
  job.checkpoint_scales = scale.address();
  job.experts = out.experts;
  job.n = layers.front().n;
  job.k = layers.front().k;
  job.n_padded = n_padded;
  job.k_padded = k_padded;
  job.gated_rows = gated_rows;
  job.prepared_words = out.words.address();
  job.prepared_scales = out.scales.address();
  job.nan_found = nan_flag.address();
  ops::enqueue_nvfp4_prepare(runtime(), gpu_info().sm, job, stream.get());
  stream.synchronize();
  out.nan_found = nan_flag.to_host<int>()[0];
  return out;
}

// "" when equal, else the count and the first few differing indices.
template <class T>
std::string mismatches(const std::vector<T>& got, const T* want, std::size_t count) {
  std::size_t bad = 0;
  std::string first;
  for (std::size_t i = 0; i < count; ++i) {
    if (got[i] == want[i]) continue;
    if (++bad <= 5) {
      first += " [" + std::to_string(i) + "] got " + std::to_string(got[i]) + " want " + std::to_string(want[i]);
    }
  }
  return bad == 0 ? std::string() : std::to_string(bad) + " of " + std::to_string(count) + " differ:" + first;
}

// Expert e's prepared bytes equal the CPU reference's.
void expect_expert_matches_reference(const GpuPrepared& gpu, const std::vector<std::uint32_t>& words,
                                     const std::vector<std::uint8_t>& scales, std::int64_t e,
                                     const PreparedHostLayer& expected) {
  ASSERT_EQ(static_cast<std::int64_t>(expected.words.size()), gpu.words_per_expert());
  ASSERT_EQ(static_cast<std::int64_t>(expected.scales.size()), gpu.scale_bytes_per_expert());
  const std::vector<std::uint32_t> got_words(words.begin() + e * gpu.words_per_expert(),
                                             words.begin() + (e + 1) * gpu.words_per_expert());
  const std::vector<std::uint8_t> got_scales(scales.begin() + e * gpu.scale_bytes_per_expert(),
                                             scales.begin() + (e + 1) * gpu.scale_bytes_per_expert());
  EXPECT_EQ(mismatches(got_words, expected.words.data(), expected.words.size()), "") << "expert " << e << " words";
  EXPECT_EQ(mismatches(got_scales, expected.scales.data(), expected.scales.size()), "") << "expert " << e << " scales";
}

// Dequantizes `rows` prepared rows of expert e and compares them with the checkpoint: prepared row
// prepared_row_reference(r) holds checkpoint row r (exact in fp32, rounded once to the dtype; a zero-scale block is
// +0 whatever its signs), every other row is zero.
void expect_dequantized_rows_match(const GpuPrepared& gpu, const Nvfp4HostLayer& layer, std::int64_t e,
                                   std::int64_t rows, std::int64_t gated_rows, const CudaStream& stream) {
  const std::int64_t k = layer.k;
  for (DType dtype : {DType::fp16, DType::bf16}) {
    std::vector<std::uint16_t> want(static_cast<std::size_t>(rows * k), half_from_double(0.0, dtype));
    for (std::int64_t r = 0; r < layer.n; ++r) {
      const std::int64_t p = prepared_row_reference(r, gated_rows);
      if (p >= rows) continue;
      for (std::int64_t col = 0; col < k; ++col) {
        const double value = static_cast<double>(static_cast<float>(layer.dequant(r, col)));
        const bool zero_block = (layer.scale(r, col / 16) & 0x7F) == 0;
        want[static_cast<std::size_t>(p * k + col)] = half_from_double(zero_block ? 0.0 : value, dtype);
      }
    }
    DeviceBuffer dense(static_cast<std::size_t>(rows * k) * 2);
    dense.fill_bytes(0xFF, stream.get());
    const void* words = gpu.words.as<std::uint32_t>() + e * gpu.words_per_expert();
    const void* scales = gpu.scales.as<std::uint8_t>() + e * gpu.scale_bytes_per_expert();
    float global_prepared = layer.global_scale * 128.0f;
    void* out = dense.get();
    int n_arg = static_cast<int>(rows), k_arg = static_cast<int>(k), k_padded = static_cast<int>(gpu.k_padded);
    void* args[] = {&words, &scales, &global_prepared, &out, &n_arg, &k_arg, &k_padded};
    KernelSpec spec;
    spec.kind = KernelKind::prep;
    spec.sm = gpu_info().sm;
    spec.prep_op = dtype == DType::bf16 ? kPrepDequantBf16 : kPrepDequantFp16;
    runtime().get_kernel(request_for(spec)).launch(ops::dequantize_launch(rows, k), stream.get(), args);
    stream.synchronize();
    const std::vector<std::uint16_t> got = dense.to_host<std::uint16_t>();
    EXPECT_EQ(mismatches(got, want.data(), want.size()), "") << dtype_name(dtype) << ", expert " << e;
  }
}

class Nvfp4Prepare : public ::testing::TestWithParam<std::tuple<CheckpointKind, std::int64_t>> {};

TEST_P(Nvfp4Prepare, GpuPreparedBytesEqualCpuReferenceAndDequantIsExact) {
  MARLIN_JIT_SKIP_WITHOUT_MARLIN_GPU();
  const auto [kind, k] = GetParam();
  const std::uint64_t seed = stream_seed(run_seed(), static_cast<std::uint64_t>(k));
  SCOPED_TRACE("MARLIN_JIT_TEST_SEED=" + std::to_string(run_seed()));
  CudaStream stream;
  const Nvfp4HostLayer layer = make_layer(kind, 200, k, seed);  // N=200 pads to 256; K=464 to 512
  const PreparedHostLayer expected = prepare_reference(layer);
  ASSERT_EQ(expected.k_padded, (k + 63) / 64 * 64);
  const GpuPrepared gpu = prepare_on_gpu({layer}, expected.n_padded, expected.k_padded, 0, stream);
  expect_expert_matches_reference(gpu, gpu.words.to_host<std::uint32_t>(), gpu.scales.to_host<std::uint8_t>(), 0,
                                  expected);
  EXPECT_EQ(gpu.nan_found, 0);
  expect_dequantized_rows_match(gpu, layer, 0, layer.n, 0, stream);
}

INSTANTIATE_TEST_SUITE_P(Checkpoints, Nvfp4Prepare,
                         ::testing::Combine(::testing::Values(CheckpointKind::realistic, CheckpointKind::adversarial),
                                            ::testing::Values(std::int64_t{512}, std::int64_t{464})),
                         [](const ::testing::TestParamInfo<std::tuple<CheckpointKind, std::int64_t>>& param_info) {
                           return std::string(checkpoint_kind_name(std::get<0>(param_info.param))) + "_K" +
                                  std::to_string(std::get<1>(param_info.param));
                         });

// Three experts of alternating kinds (so their global scales and scale signs differ), stacked as MoE checkpoints
// are; each expert's prepared bytes against the reference, then every prepared row through the dequantizer.
void check_batched_stack(std::int64_t n, std::int64_t k, std::int64_t gated_rows) {
  const std::uint64_t seed = stream_seed(run_seed(), static_cast<std::uint64_t>(n * 100000 + k));
  SCOPED_TRACE("MARLIN_JIT_TEST_SEED=" + std::to_string(run_seed()));
  CudaStream stream;
  std::vector<Nvfp4HostLayer> layers;
  for (std::uint64_t e = 0; e < 3; ++e) {
    layers.push_back(
        make_layer(e % 2 == 0 ? CheckpointKind::realistic : CheckpointKind::adversarial, n, k, stream_seed(seed, e)));
  }
  const PreparedHostLayer first = prepare_reference(layers[0], std::nullopt, gated_rows);
  const GpuPrepared gpu = prepare_on_gpu(layers, first.n_padded, first.k_padded, gated_rows, stream);
  EXPECT_EQ(gpu.nan_found, 0);
  const std::vector<std::uint32_t> words = gpu.words.to_host<std::uint32_t>();
  const std::vector<std::uint8_t> scales = gpu.scales.to_host<std::uint8_t>();
  for (std::int64_t e = 0; e < 3; ++e) {
    expect_expert_matches_reference(gpu, words, scales, e,
                                    prepare_reference(layers[static_cast<std::size_t>(e)], std::nullopt, gated_rows));
    expect_dequantized_rows_match(gpu, layers[static_cast<std::size_t>(e)], e, first.n_padded, gated_rows, stream);
  }
}

TEST(Nvfp4PrepareBatched, gated_stack_of_three_experts_interleaves_gate_and_up_per_expert) {
  MARLIN_JIT_SKIP_WITHOUT_MARLIN_GPU();
  // I = 40: the third 16-row block of each half is partial, each half pads to 64 rows (n_padded 128); K = 208
  // pads to 256.
  check_batched_stack(80, 208, 40);
}

TEST(Nvfp4PrepareBatched, plain_stack_of_three_experts_matches_per_expert) {
  MARLIN_JIT_SKIP_WITHOUT_MARLIN_GPU();
  check_batched_stack(208, 464, 0);
}

TEST(Nvfp4PrepareBatched, a_nan_scale_in_the_last_expert_is_flagged) {
  MARLIN_JIT_SKIP_WITHOUT_MARLIN_GPU();
  SCOPED_TRACE("MARLIN_JIT_TEST_SEED=" + std::to_string(run_seed()));
  CudaStream stream;
  for (std::uint8_t nan : {std::uint8_t{0x7F}, std::uint8_t{0xFF}}) {
    std::vector<Nvfp4HostLayer> layers;
    for (std::uint64_t e = 0; e < 3; ++e) layers.push_back(make_realistic_layer(80, 464, stream_seed(run_seed(), e)));
    layers.back().weight_scale.back() = nan;  // the last scale byte of the stack
    EXPECT_EQ(prepare_on_gpu(layers, 128, 512, 40, stream).nan_found, 1) << "NaN code " << int(nan);
  }
}

}  // namespace
}  // namespace marlin_jit::test
