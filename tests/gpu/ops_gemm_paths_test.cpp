// Both GEMM paths behind apply_nvfp4_linear, forced one at a time (automatic dispatch hides one of them per M):
// the Marlin kernel and dequantize + cuBLAS each match the float64 reference of the checkpoint, with and
// without bias, below and above the crossover M.
#include <gtest/gtest.h>

#include <random>
#include <tuple>

#include "gpu_test_env.hpp"
#include "marlin_jit/nvfp4_linear.hpp"
#include "marlin_jit/runtime.hpp"
#include "nvfp4_checkpoint.hpp"
#include "reference_gemm.hpp"

namespace marlin_jit::test {
namespace {

using PathCase = std::tuple<GemmPath, DType, std::int64_t /*m*/, bool /*bias*/>;

class GemmPaths : public ::testing::TestWithParam<PathCase> {};

TEST_P(GemmPaths, ForcedPathMatchesTheFloat64Reference) {
  MARLIN_JIT_SKIP_WITHOUT_MARLIN_GPU();
  const auto [path, dtype, m, with_bias] = GetParam();
  constexpr std::int64_t n = 2688, k = 1856;
  const std::uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  TempCacheDir cache("mj_paths");
  RuntimeOptions options;
  options.cache_dir = cache.path();
  Runtime runtime(options);
  CudaStream stream;

  const Nvfp4HostLayer layer = make_realistic_layer(n, k, seed);
  const std::vector<std::uint16_t> input = random_half_values(m * k, dtype, seed + 1);
  const std::vector<std::uint16_t> bias = random_half_values(n, dtype, seed + 2);
  DeviceBuffer weight = DeviceBuffer::from_host(layer.weight);
  DeviceBuffer scales = DeviceBuffer::from_host(layer.weight_scale);
  DeviceBuffer input_buffer = DeviceBuffer::from_host(input);
  DeviceBuffer bias_buffer = DeviceBuffer::from_host(bias);
  DeviceBuffer out(static_cast<std::size_t>(m * n) * 2);
  out.fill_bytes(0xFF, stream.get());

  PreparedNvfp4Linear prepared = prepare_nvfp4_linear(
      runtime, {weight.address(), scales.address(), layer.global_scale, n, k}, stream.get());
  LinearApplyArgs args;
  args.input = input_buffer.address();
  args.output = out.address();
  args.bias = with_bias ? bias_buffer.address() : 0;
  args.m = m;
  args.dtype = dtype;
  args.path = path;
  apply_nvfp4_linear(runtime, prepared, args, stream.get());
  stream.synchronize();

  const std::vector<double> ref = reference_gemm(half_values_to_double(input, dtype), layer.dequantized(),
                                                 with_bias ? half_values_to_double(bias, dtype) : std::vector<double>{},
                                                 m, n, k);
  std::vector<double> got;
  for (std::uint16_t bits : out.to_host<std::uint16_t>()) got.push_back(half_to_double(bits, dtype));
  const double rel = relative_l2_error(got, ref);
  // Rounding of the dtype alone: ~3e-4 (fp16) and ~2e-3 (bf16) here; NaN (unwritten output) never passes.
  EXPECT_LT(rel, dtype == DType::fp16 ? 1e-3 : 6e-3) << dtype_name(dtype) << " m " << m;
}

std::string path_case_name(const ::testing::TestParamInfo<PathCase>& param_info) {
  const auto [path, dtype, m, with_bias] = param_info.param;
  return std::string(path == GemmPath::marlin ? "marlin" : "dequant_cublas") + "_" + dtype_name(dtype) + "_M" +
         std::to_string(m) + (with_bias ? "_bias" : "");
}

INSTANTIATE_TEST_SUITE_P(Paths, GemmPaths,
                         ::testing::Combine(::testing::Values(GemmPath::marlin, GemmPath::dequant_cublas),
                                            ::testing::Values(DType::fp16, DType::bf16),
                                            ::testing::Values(std::int64_t{37}, std::int64_t{300}),
                                            ::testing::Bool()),
                         path_case_name);

}  // namespace
}  // namespace marlin_jit::test
