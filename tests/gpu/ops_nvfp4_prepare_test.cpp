// The JIT-compiled preparation kernels produce exactly the CPU reference's prepared bytes (realistic and
// adversarial checkpoints, N padded), and the dequantizer reproduces checkpoint weights rounded once to the dtype.
#include <gtest/gtest.h>

#include <random>

#include "compile/kernel_catalog.hpp"
#include "gpu_test_env.hpp"
#include "marlin_jit/runtime.hpp"
#include "nvfp4_checkpoint.hpp"
#include "nvfp4_prepared_reference.hpp"
#include "ops/prep_launch.hpp"

namespace marlin_jit::test {
namespace {

KernelHandle prep_kernel(Runtime& runtime, const char* op) {
  KernelSpec spec;
  spec.kind = KernelKind::prep;
  spec.sm = gpu_info().sm;
  spec.prep_op = op;
  return runtime.get_kernel(request_for(spec));
}

LaunchDims linear_launch(std::int64_t threads) {
  LaunchDims dims;
  dims.block[0] = 256;
  dims.grid[0] = static_cast<unsigned>((threads + 255) / 256);
  return dims;
}

class Nvfp4Prepare : public ::testing::TestWithParam<CheckpointKind> {};

TEST_P(Nvfp4Prepare, GpuPreparedBytesEqualCpuReferenceAndDequantIsExact) {
  MARLIN_JIT_SKIP_WITHOUT_MARLIN_GPU();
  TempCacheDir cache("mj_prep");
  RuntimeOptions options;
  options.cache_dir = cache.path();
  Runtime runtime(options);
  CudaStream stream;

  const std::uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const Nvfp4HostLayer layer = make_layer(GetParam(), 200, 512, seed);  // N=200 pads to 256
  const PreparedHostLayer expected = prepare_reference(layer);

  DeviceBuffer weight = DeviceBuffer::from_host(layer.weight);
  DeviceBuffer scales = DeviceBuffer::from_host(layer.weight_scale);
  DeviceBuffer prepared_words(expected.words.size() * 4);
  DeviceBuffer prepared_scales(expected.scales.size());
  DeviceBuffer nan_flag(sizeof(int));
  prepared_words.fill_bytes(0xAB, stream.get());
  prepared_scales.fill_bytes(0xAB, stream.get());
  nan_flag.fill_bytes(0, stream.get());

  int n = static_cast<int>(layer.n), k = static_cast<int>(layer.k), n_padded = static_cast<int>(expected.n_padded);
  const void* weight_ptr = weight.get();
  const void* scales_ptr = scales.get();
  void* words_ptr = prepared_words.get();
  void* prepared_scales_ptr = prepared_scales.get();
  void* flag_ptr = nan_flag.get();
  void* scale_args[] = {&scales_ptr, &prepared_scales_ptr, &n, &k, &n_padded, &flag_ptr};
  prep_kernel(runtime, kPrepScales).launch(linear_launch(static_cast<std::int64_t>(expected.scales.size())),
                                            stream.get(), scale_args);
  void* repack_args[] = {&weight_ptr, &scales_ptr, &words_ptr, &n, &k, &n_padded};
  prep_kernel(runtime, kPrepRepack).launch(linear_launch(static_cast<std::int64_t>(expected.words.size())),
                                            stream.get(), repack_args);
  stream.synchronize();

  EXPECT_EQ(prepared_words.to_host<std::uint32_t>(), expected.words);
  EXPECT_EQ(prepared_scales.to_host<std::uint8_t>(), expected.scales);
  EXPECT_EQ(nan_flag.to_host<int>()[0], 0);

  for (DType dtype : {DType::fp16, DType::bf16}) {
    DeviceBuffer dense(static_cast<std::size_t>(layer.n * layer.k) * 2);
    dense.fill_bytes(0xFF, stream.get());
    float global_prepared = layer.global_scale * 128.0f;
    void* dense_ptr = dense.get();
    void* dequant_args[] = {&words_ptr, &prepared_scales_ptr, &global_prepared, &dense_ptr, &n, &k};
    prep_kernel(runtime, dtype == DType::bf16 ? kPrepDequantBf16 : kPrepDequantFp16)
        .launch(ops::dequantize_launch(layer.n, layer.k), stream.get(), dequant_args);
    stream.synchronize();
    const std::vector<std::uint16_t> bits = dense.to_host<std::uint16_t>();
    std::int64_t mismatches = 0;
    for (std::int64_t row = 0; row < layer.n; ++row) {
      for (std::int64_t col = 0; col < layer.k; ++col) {
        // Exact in fp32, then one rounding to the dtype: compare with the checkpoint value rounded likewise.
        const double value = static_cast<double>(static_cast<float>(layer.dequant(row, col)));
        const bool zero_block = (layer.scale(row, col / 16) & 0x7F) == 0;  // prepared as +0 whatever the signs
        const std::uint16_t want = half_from_double(zero_block ? 0.0 : value, dtype);
        const std::uint16_t got = bits[static_cast<std::size_t>(row * layer.k + col)];
        if (got != want && ++mismatches <= 5) {
          ADD_FAILURE() << dtype_name(dtype) << " (" << row << ", " << col << "): want 0x" << std::hex << want
                        << " got 0x" << got;
        }
      }
    }
    EXPECT_EQ(mismatches, 0) << dtype_name(dtype);
  }
}

INSTANTIATE_TEST_SUITE_P(Checkpoints, Nvfp4Prepare,
                         ::testing::Values(CheckpointKind::realistic, CheckpointKind::adversarial),
                         [](const ::testing::TestParamInfo<CheckpointKind>& param_info) {
                           return std::string(checkpoint_kind_name(param_info.param));
                         });

}  // namespace
}  // namespace marlin_jit::test
