// The MoE part of the GPU self-check: a small random NVFP4 MoE layer per activation (E 4, H 128, I 80 — not a
// multiple of 64 — top-2, M 5), applied in fp16 and bf16 and compared with a float64 CPU reference of the
// operation in nvfp4_moe.hpp. Memory goes through the driver table.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "marlin_jit/nvfp4_moe.hpp"
#include "ops/self_check_support.hpp"

namespace marlin_jit {
namespace {

using namespace ops::self_check;

constexpr long long kExperts = 4, kHidden = 128, kIntermediate = 80, kTopk = 2, kTokens = 5;

// One projection of every expert, stacked: codes, scales, global scales, and the dequantized values in float64.
struct HostProjection {
  std::vector<std::uint8_t> weight, scales;
  std::vector<float> global;
  std::vector<double> dense;  // [E][rows][cols]
};

HostProjection random_projection(std::mt19937& rng, long long rows, long long cols) {
  HostProjection p;
  p.weight.resize(kExperts * rows * cols / 2);
  p.scales.resize(kExperts * rows * cols / 16);
  for (auto& byte : p.weight) byte = static_cast<std::uint8_t>(rng());
  for (auto& scale : p.scales) scale = static_cast<std::uint8_t>(0x28 + rng() % 0x28 + (rng() % 8 == 0 ? 0x80 : 0));
  p.dense.resize(kExperts * rows * cols);
  for (long long e = 0; e < kExperts; ++e) {
    p.global.push_back(0.01f + 0.002f * static_cast<float>(e));
    for (long long i = e * rows * cols; i < (e + 1) * rows * cols; ++i) {
      const unsigned code = (p.weight[i / 2] >> (4 * (i % 2))) & 0xF;
      p.dense[i] = e2m1_value(code) * e4m3_value(p.scales[i / 16]) * p.global.back();
    }
  }
  return p;
}

// out[t] = Σ_j w[t][j] · W2_e · act(W1_e · x[t]), e = ids[t][j], in float64.
std::vector<double> moe_reference(const HostProjection& w1, const HostProjection& w2, Activation activation,
                                  const std::vector<double>& x, const std::vector<int>& ids,
                                  const std::vector<float>& weights) {
  const bool gated = activation == Activation::silu_gated;
  const long long rows1 = (gated ? 2 : 1) * kIntermediate;
  std::vector<double> out(kTokens * kHidden, 0.0), act(kIntermediate);
  for (long long t = 0; t < kTokens; ++t) {
    for (long long j = 0; j < kTopk; ++j) {
      const long long e = ids[t * kTopk + j];
      auto w1_row = [&](long long r) {
        double sum = 0;
        for (long long h = 0; h < kHidden; ++h) sum += w1.dense[(e * rows1 + r) * kHidden + h] * x[t * kHidden + h];
        return sum;
      };
      for (long long i = 0; i < kIntermediate; ++i) {
        const double a = w1_row(i);
        act[i] = gated ? a / (1.0 + std::exp(-a)) * w1_row(kIntermediate + i) : std::pow(std::max(a, 0.0), 2);
      }
      for (long long h = 0; h < kHidden; ++h) {
        double y = 0;
        for (long long i = 0; i < kIntermediate; ++i) y += w2.dense[(e * kHidden + h) * kIntermediate + i] * act[i];
        out[t * kHidden + h] += weights[t * kTopk + j] * y;
      }
    }
  }
  return out;
}

SelfCheckCase run_case(Runtime& runtime, const PreparedNvfp4Moe& layer, const HostProjection& w1,
                       const HostProjection& w2, DType dtype, CUstream stream, std::mt19937& rng) {
  SelfCheckCase c{"moe " + to_string(layer.activation()), dtype, kTokens, kHidden, kIntermediate, false,
                  GemmPath::automatic, 0, dtype == DType::fp16 ? 2e-3 : 1.5e-2, false};
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<std::uint16_t> input(kTokens * kHidden), output(kTokens * kHidden, 0xFFFF);
  std::vector<double> x(input.size());
  for (std::size_t i = 0; i < input.size(); ++i) x[i] = from_bits(input[i] = to_bits(normal(rng), dtype), dtype);
  std::vector<int> ids(kTokens * kTopk);
  std::vector<float> weights(ids.size());
  for (long long t = 0; t < kTokens; ++t) {
    const int first = static_cast<int>(rng() % kExperts);
    ids[t * kTopk] = first;
    ids[t * kTopk + 1] = static_cast<int>((first + 1 + rng() % (kExperts - 1)) % kExperts);  // distinct
    weights[t * kTopk] = 0.25f + 0.5f * static_cast<float>(rng() % 100) / 100.0f;
    weights[t * kTopk + 1] = 1.0f - weights[t * kTopk];
  }
  DeviceMemory input_device = upload(input, stream), output_device = upload(output, stream);
  DeviceMemory ids_device = upload(ids, stream), weights_device = upload(weights, stream);
  apply_nvfp4_moe(runtime, layer,
                  {input_device.get(), ids_device.get(), weights_device.get(), output_device.get(), kTokens,
                   static_cast<int>(kTopk), dtype},
                  stream);
  detail::check_cu(detail::driver().cuMemcpyDtoHAsync(output.data(), output_device.get(), output.size() * 2, stream),
                   "cuMemcpyDtoHAsync");
  detail::check_cu(detail::driver().cuStreamSynchronize(stream), "cuStreamSynchronize");
  const std::vector<double> ref = moe_reference(w1, w2, layer.activation(), x, ids, weights);
  double error = 0, norm = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double got = from_bits(output[i], dtype);
    error += (got - ref[i]) * (got - ref[i]);  // NaN (unwritten) poisons the sum: the case fails
    norm += ref[i] * ref[i];
  }
  c.relative_error = std::sqrt(error / norm);
  c.passed = c.relative_error < c.tolerance;
  return c;
}

}  // namespace

void append_moe_self_check(Runtime& runtime, CUstream stream, std::mt19937& rng, SelfCheckReport& report) {
  for (Activation activation : {Activation::relu2, Activation::silu_gated}) {
    const long long rows1 = (activation == Activation::silu_gated ? 2 : 1) * kIntermediate;
    const HostProjection w1 = random_projection(rng, rows1, kHidden);
    const HostProjection w2 = random_projection(rng, kHidden, kIntermediate);
    DeviceMemory w1_weight = upload(w1.weight, stream), w1_scales = upload(w1.scales, stream);
    DeviceMemory w2_weight = upload(w2.weight, stream), w2_scales = upload(w2.scales, stream);
    Nvfp4MoeCheckpoint checkpoint{kExperts,       kHidden,         kIntermediate, activation,
                                  w1_weight.get(), w1_scales.get(), w1.global,     w2_weight.get(),
                                  w2_scales.get(), w2.global};
    const PreparedNvfp4Moe layer = prepare_nvfp4_moe(runtime, checkpoint, stream);
    for (DType dtype : {DType::fp16, DType::bf16}) {
      report.cases.push_back(run_case(runtime, layer, w1, w2, dtype, stream, rng));
    }
  }
}

}  // namespace marlin_jit
