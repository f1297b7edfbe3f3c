// GPU self-check (see self_check.hpp): a random NVFP4 checkpoint layer, every apply path, float64 CPU reference;
// then the MoE layers (self_check_moe.cpp). Memory goes through the driver table.
#include "marlin_jit/self_check.hpp"

#include <cmath>
#include <cstdint>
#include <random>

#include "driver/cuda_driver.hpp"
#include "marlin_jit/device.hpp"
#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/runtime.hpp"
#include "ops/self_check_support.hpp"

namespace marlin_jit {
namespace {

constexpr long long kN = 200;  // not a multiple of 64: exercises N padding
constexpr long long kK = 512;

using namespace ops::self_check;

}  // namespace

bool SelfCheckReport::passed() const {
  if (skipped) return true;
  for (const SelfCheckCase& c : cases) {
    if (!c.passed) return false;
  }
  return !cases.empty();
}

SelfCheckReport run_self_check(Runtime& runtime) {
  SelfCheckReport report;
  if (auto reason = driver_unavailable_reason()) {
    report.skipped = "no CUDA driver: " + *reason;
    return report;
  }
  const std::vector<DeviceInfo> devices = list_devices();
  if (devices.empty()) {
    report.skipped = "no CUDA device";
    return report;
  }
  const CUdevice device = detail::ensure_current_context();
  const DeviceInfo& info = devices.at(static_cast<std::size_t>(device));
  report.device = info.name + " (sm_" + std::to_string(info.sm()) + ")";
  if (!is_supported_sm(info.sm())) {
    report.skipped = report.device + " is outside SM80–SM90";
    return report;
  }

  std::mt19937 rng(std::random_device{}());
  std::vector<std::uint8_t> weight(kN * kK / 2), scales(kN * kK / 16);
  for (auto& byte : weight) byte = static_cast<std::uint8_t>(rng());
  for (auto& scale : scales) scale = static_cast<std::uint8_t>(0x28 + rng() % 0x28 + (rng() % 8 == 0 ? 0x80 : 0));
  const float global = 0.0123f;
  std::vector<double> dense(kN * kK);
  for (long long n = 0; n < kN; ++n) {
    for (long long k = 0; k < kK; ++k) {
      const unsigned code = (weight[(n * kK + k) / 2] >> (4 * (k % 2))) & 0xF;
      dense[n * kK + k] = e2m1_value(code) * e4m3_value(scales[(n * kK + k) / 16]) * global;
    }
  }

  CUstream stream = nullptr;  // the legacy stream of the current context
  DeviceMemory weight_device = upload(weight, stream), scales_device = upload(scales, stream);
  const PreparedNvfp4Linear layer =
      prepare_nvfp4_linear(runtime, {weight_device.get(), scales_device.get(), global, kN, kK}, stream);

  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (DType dtype : {DType::fp16, DType::bf16}) {
    for (long long m : {1LL, 33LL, 300LL}) {
      for (GemmPath path : {GemmPath::marlin, GemmPath::automatic}) {
        if (path == GemmPath::automatic && m < 300) continue;  // automatic = marlin below the crossover
        SelfCheckCase c{"dense", dtype, m, kN, kK, m == 33, path, 0, dtype == DType::fp16 ? 1e-3 : 6e-3, false};
        std::vector<std::uint16_t> input(m * kK), bias(kN), output(m * kN, 0xFFFF);
        for (auto& x : input) x = to_bits(normal(rng), dtype);
        for (auto& x : bias) x = to_bits(normal(rng), dtype);
        DeviceMemory input_device = upload(input, stream), bias_device = upload(bias, stream);
        DeviceMemory output_device = upload(output, stream);  // poisoned with NaN
        apply_nvfp4_linear(runtime, layer,
                           {input_device.get(), output_device.get(), c.bias ? bias_device.get() : 0, m, dtype, path},
                           stream);
        detail::check_cu(detail::driver().cuMemcpyDtoHAsync(output.data(), output_device.get(), output.size() * 2,
                                                            stream),
                         "cuMemcpyDtoHAsync");
        detail::check_cu(detail::driver().cuStreamSynchronize(stream), "cuStreamSynchronize");
        double error = 0, norm = 0;
        for (long long i = 0; i < m; ++i) {
          for (long long n = 0; n < kN; ++n) {
            double ref = c.bias ? from_bits(bias[n], dtype) : 0.0;
            for (long long k = 0; k < kK; ++k) ref += from_bits(input[i * kK + k], dtype) * dense[n * kK + k];
            const double got = from_bits(output[i * kN + n], dtype);
            error += (got - ref) * (got - ref);  // NaN (unwritten) poisons the sum: the case fails
            norm += ref * ref;
          }
        }
        c.relative_error = std::sqrt(error / norm);
        c.passed = c.relative_error < c.tolerance;  // false for NaN
        report.cases.push_back(c);
      }
    }
  }
  append_moe_self_check(runtime, stream, rng, report);
  return report;
}

}  // namespace marlin_jit
