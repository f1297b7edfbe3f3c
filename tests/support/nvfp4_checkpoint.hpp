// NVFP4 checkpoints on the host, for tests and benchmarks: exact codecs (e2m1, e4m3fn, fp16, bf16), a layer laid out
// as ModelOpt stores it, and seeded generators (realistic, adversarial, NaN scales). Header-only, no CUDA.
// Every encoder rounds to nearest, ties to even; a generator gives the same bytes for a seed on any thread count.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "marlin_jit/types.hpp"

namespace marlin_jit::test {

// ---- e2m1 elements and e4m3fn block scales

// e2m1: sign, 2 exponent bits (bias 1), 1 mantissa bit. Codes 0..7 are 0, 0.5, 1, 1.5, 2, 3, 4, 6; 8..15 negate.
inline double e2m1_to_double(std::uint8_t code) {
  const int exponent = (code >> 1) & 3;
  const int mantissa = code & 1;
  const double magnitude = exponent == 0 ? 0.5 * mantissa : std::ldexp(1.0 + 0.5 * mantissa, exponent - 1);
  return (code & 8) != 0 ? -magnitude : magnitude;
}

// e4m3fn: sign, 4 exponent bits (bias 7), 3 mantissa bits, no infinities. 0x7F and 0xFF are NaN; max 448 (0x7E);
// exponent field 0 is subnormal, m/8 · 2^-6, so the smallest nonzero magnitude is 2^-9 (0x01).
inline bool e4m3fn_is_nan(std::uint8_t byte) { return (byte & 0x7F) == 0x7F; }

inline double e4m3fn_to_double(std::uint8_t byte) {
  if (e4m3fn_is_nan(byte)) return std::numeric_limits<double>::quiet_NaN();
  const int exponent = (byte >> 3) & 15;
  const int mantissa = byte & 7;
  const double magnitude =
      exponent == 0 ? std::ldexp(mantissa / 8.0, -6) : std::ldexp(1.0 + mantissa / 8.0, exponent - 7);
  return (byte & 0x80) != 0 ? -magnitude : magnitude;
}

namespace detail {

// Rounds a magnitude to the nearest of the codes 0..max_code of a format whose non-negative codes grow with their
// value (e2m1, e4m3fn, fp16, bf16 all do). Ties go to the even code; magnitudes past max_code saturate to it.
template <class Decode>
unsigned round_magnitude_to_code(double magnitude, unsigned max_code, Decode decode) {
  if (magnitude >= decode(max_code)) return max_code;
  unsigned lo = 0, hi = max_code;  // invariant: decode(lo) <= magnitude < decode(hi)
  while (hi - lo > 1) {
    const unsigned mid = lo + (hi - lo) / 2;
    (decode(mid) <= magnitude ? lo : hi) = mid;
  }
  const double below = magnitude - decode(lo);
  const double above = decode(hi) - magnitude;
  if (below != above) return below < above ? lo : hi;
  return lo % 2 == 0 ? lo : hi;
}

}  // namespace detail

// Nearest e2m1 code, ties to even, saturating at ±6 (ModelOpt clamps the same way). The sign is kept, so a small
// negative value becomes −0 (code 8).
inline std::uint8_t e2m1_from_double(double x) {
  static constexpr double kMagnitudes[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};  // a table: generators call this per weight
  const unsigned magnitude_code =
      detail::round_magnitude_to_code(std::fabs(x), 7, [](unsigned c) { return kMagnitudes[c]; });
  return static_cast<std::uint8_t>(magnitude_code | (std::signbit(x) ? 8u : 0u));
}

// Nearest e4m3fn code, ties to even. Magnitudes above 448 saturate to 448 (ModelOpt's scales never exceed it);
// NaN encodes as 0x7F.
inline std::uint8_t e4m3fn_from_double(double x) {
  if (std::isnan(x)) return 0x7F;
  static const std::vector<double> kMagnitudes = [] {
    std::vector<double> values(0x7F);
    for (unsigned c = 0; c < values.size(); ++c) values[c] = e4m3fn_to_double(static_cast<std::uint8_t>(c));
    return values;
  }();
  const unsigned magnitude_code =
      detail::round_magnitude_to_code(std::fabs(x), 0x7E, [](unsigned c) { return kMagnitudes[c]; });
  return static_cast<std::uint8_t>(magnitude_code | (std::signbit(x) ? 0x80u : 0u));
}

// ---- fp16 and bf16 activations, as raw 16-bit patterns

inline double fp16_to_double(std::uint16_t bits) {
  const int exponent = (bits >> 10) & 31;
  const int mantissa = bits & 1023;
  double magnitude;
  if (exponent == 31) {
    magnitude = mantissa == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  } else if (exponent == 0) {
    magnitude = std::ldexp(static_cast<double>(mantissa), -24);
  } else {
    magnitude = std::ldexp(static_cast<double>(1024 + mantissa), exponent - 25);
  }
  return (bits & 0x8000) != 0 ? -magnitude : magnitude;
}

inline double bf16_to_double(std::uint16_t bits) {
  const std::uint32_t widened = static_cast<std::uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &widened, sizeof value);
  return value;
}

namespace detail {

// Rounds a finite, non-negative double with the given IEEE layout of the 16-bit target: `mantissa_bits` stored
// mantissa bits, `min_normal_exponent` the unbiased exponent of the smallest normal, and `bias`. The caller handles
// NaN and overflow. Normal results round the double's 52-bit mantissa at the target's width; subnormal results are
// the nearest integer multiple of the smallest subnormal (an exact power-of-two scaling, then nearbyint).
inline std::uint16_t round_to_half_layout(double magnitude, int mantissa_bits, int min_normal_exponent, int bias) {
  if (magnitude < std::ldexp(1.0, min_normal_exponent)) {
    const double units = std::nearbyint(std::ldexp(magnitude, mantissa_bits - min_normal_exponent));
    return static_cast<std::uint16_t>(units);  // units == 2^mantissa_bits is the smallest normal: still correct
  }
  std::uint64_t bits;
  std::memcpy(&bits, &magnitude, sizeof bits);
  const int exponent = static_cast<int>(bits >> 52) - 1023 + bias;
  const int dropped = 52 - mantissa_bits;
  const std::uint64_t mantissa = bits & ((std::uint64_t{1} << 52) - 1);
  std::uint64_t result = (static_cast<std::uint64_t>(exponent) << mantissa_bits) | (mantissa >> dropped);
  const std::uint64_t remainder = mantissa & ((std::uint64_t{1} << dropped) - 1);
  const std::uint64_t half = std::uint64_t{1} << (dropped - 1);
  if (remainder > half || (remainder == half && (result & 1) != 0)) ++result;  // a carry may raise the exponent
  return static_cast<std::uint16_t>(result);
}

}  // namespace detail

// Nearest fp16, ties to even; |x| ≥ 65520 (65504 plus half an ulp, which ties away from the odd 65504) is ±inf.
inline std::uint16_t fp16_from_double(double x) {
  const std::uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  if (std::isnan(x)) return static_cast<std::uint16_t>(sign | 0x7E00);
  const double magnitude = std::fabs(x);
  if (magnitude >= 65520.0) return static_cast<std::uint16_t>(sign | 0x7C00);
  return static_cast<std::uint16_t>(sign | detail::round_to_half_layout(magnitude, 10, -14, 15));
}

// Nearest bf16, ties to even; |x| ≥ (2 − 2^-8)·2^127 is ±inf.
inline std::uint16_t bf16_from_double(double x) {
  const std::uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  if (std::isnan(x)) return static_cast<std::uint16_t>(sign | 0x7FC0);
  const double magnitude = std::fabs(x);
  if (magnitude >= std::ldexp(2.0 - std::ldexp(1.0, -8), 127)) return static_cast<std::uint16_t>(sign | 0x7F80);
  return static_cast<std::uint16_t>(sign | detail::round_to_half_layout(magnitude, 7, -126, 127));
}

inline double half_to_double(std::uint16_t bits, DType dtype) {
  return dtype == DType::fp16 ? fp16_to_double(bits) : bf16_to_double(bits);
}
inline std::uint16_t half_from_double(double x, DType dtype) {
  return dtype == DType::fp16 ? fp16_from_double(x) : bf16_from_double(x);
}
inline const char* dtype_name(DType dtype) { return dtype == DType::fp16 ? "fp16" : "bf16"; }

// ---- seeded randomness and row-parallel loops

// SplitMix64 (Steele, Lea, Flood 2014): small, fast and plenty for test data. Generators open one stream per row
// or chunk (stream_seed), so their output does not depend on how the work is split over threads.
class TestRng {
 public:
  explicit TestRng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }  // in (0, 1)
  unsigned below(unsigned bound) { return static_cast<unsigned>(next() % bound); }
  bool chance(double p) { return uniform() < p; }
  double normal() {  // Box–Muller, both values used
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double radius = std::sqrt(-2.0 * std::log(uniform()));
    const double angle = 6.283185307179586 * uniform();
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

 private:
  std::uint64_t state_;
  bool has_spare_ = false;
  double spare_ = 0;
};

inline std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t stream) {
  TestRng rng(seed ^ (stream * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull));
  rng.next();
  return rng.next();
}

// Calls fn(begin, end) on contiguous chunks of [0, count), one chunk per hardware thread. fn must only write
// state owned by its chunk.
template <class Fn>
void parallel_for(std::int64_t count, Fn fn) {
  const std::int64_t threads =
      std::clamp<std::int64_t>(static_cast<std::int64_t>(std::thread::hardware_concurrency()), 1, 64);
  const std::int64_t chunks = std::min(threads, count);
  if (chunks <= 1) {
    if (count > 0) fn(std::int64_t{0}, count);
    return;
  }
  std::vector<std::thread> workers;
  for (std::int64_t c = 0; c < chunks; ++c) {
    workers.emplace_back([=] { fn(count * c / chunks, count * (c + 1) / chunks); });
  }
  for (auto& worker : workers) worker.join();
}

// ---- one dense layer as the checkpoint stores it

struct Nvfp4HostLayer {
  std::int64_t n = 0;
  std::int64_t k = 0;
  std::vector<std::uint8_t> weight;        // [n][k/2]: element 2j in the low nibble of byte j, 2j+1 in the high
  std::vector<std::uint8_t> weight_scale;  // [n][k/16] e4m3fn bytes, one per 16 consecutive k
  float global_scale = 1.0f;               // weight_scale_2

  Nvfp4HostLayer() = default;
  Nvfp4HostLayer(std::int64_t rows, std::int64_t cols) : n(rows), k(cols) {
    if (rows <= 0 || cols <= 0 || cols % 16 != 0) {
      throw std::invalid_argument("Nvfp4HostLayer: need n > 0 and k a positive multiple of 16, got n=" +
                                  std::to_string(rows) + " k=" + std::to_string(cols));
    }
    weight.assign(static_cast<std::size_t>(n * (k / 2)), 0);
    weight_scale.assign(static_cast<std::size_t>(n * (k / 16)), 0);
  }

  std::uint8_t code(std::int64_t row, std::int64_t col) const {
    const std::uint8_t byte = weight[static_cast<std::size_t>(row * (k / 2) + col / 2)];
    return static_cast<std::uint8_t>(col % 2 == 0 ? byte & 0x0F : byte >> 4);
  }
  void set_code(std::int64_t row, std::int64_t col, std::uint8_t code) {
    std::uint8_t& byte = weight[static_cast<std::size_t>(row * (k / 2) + col / 2)];
    byte = static_cast<std::uint8_t>(col % 2 == 0 ? (byte & 0xF0) | (code & 0x0F) : (byte & 0x0F) | (code << 4));
  }
  std::uint8_t& scale(std::int64_t row, std::int64_t block) {
    return weight_scale[static_cast<std::size_t>(row * (k / 16) + block)];
  }
  std::uint8_t scale(std::int64_t row, std::int64_t block) const {
    return weight_scale[static_cast<std::size_t>(row * (k / 16) + block)];
  }

  // Exact in float64: e2m1 × e4m3 has at most 6 significant bits, times a float32 global at most 30.
  double dequant(std::int64_t row, std::int64_t col) const {
    return e2m1_to_double(code(row, col)) * e4m3fn_to_double(scale(row, col / 16)) * static_cast<double>(global_scale);
  }

  // The whole dequantized matrix [n][k], row-major; equal to dequant() element by element (every product exact),
  // through tables because generators and GPU tests call it on layers of 10^8 weights.
  std::vector<double> dequantized() const {
    double code_values[16], scale_values[256];
    for (unsigned c = 0; c < 16; ++c) code_values[c] = e2m1_to_double(static_cast<std::uint8_t>(c));
    for (unsigned b = 0; b < 256; ++b) {
      scale_values[b] = e4m3fn_to_double(static_cast<std::uint8_t>(b)) * static_cast<double>(global_scale);
    }
    std::vector<double> out(static_cast<std::size_t>(n * k));
    parallel_for(n, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t row = begin; row < end; ++row) {
        for (std::int64_t col = 0; col < k; ++col) {
          out[static_cast<std::size_t>(row * k + col)] =
              code_values[code(row, col)] * scale_values[scale(row, col / 16)];
        }
      }
    });
    return out;
  }
};

// ---- generators

// Weights as a bf16 checkpoint would hold them: N(0, sigma) rounded to bf16, about one element in 4096 an outlier
// of 8–32 σ. Returned as floats (every value exactly a bf16), [n][k].
inline std::vector<float> random_bf16_weights(std::int64_t n, std::int64_t k, std::uint64_t seed, double sigma = 0.02) {
  std::vector<float> w(static_cast<std::size_t>(n * k));
  parallel_for(n, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t row = begin; row < end; ++row) {
      TestRng rng(stream_seed(seed, static_cast<std::uint64_t>(row)));
      for (std::int64_t col = 0; col < k; ++col) {
        double value = sigma * rng.normal();
        if (rng.chance(1.0 / 4096)) value = std::copysign(sigma * (8.0 + 24.0 * rng.uniform()), value);
        w[static_cast<std::size_t>(row * k + col)] = static_cast<float>(bf16_to_double(bf16_from_double(value)));
      }
    }
  });
  return w;
}

// Quantizes as ModelOpt's NVFP4 export does, in float32 arithmetic throughout: global = amax(W) / (6·448);
// per 16-block scale = e4m3(amax_block / 6 / global), or 1.0 for an all-zero block; code = e2m1(w / (scale·global)).
inline Nvfp4HostLayer quantize_nvfp4_like_modelopt(const std::vector<float>& w, std::int64_t n, std::int64_t k) {
  Nvfp4HostLayer layer(n, k);
  float amax = 0;
  for (float value : w) amax = std::max(amax, std::fabs(value));
  layer.global_scale = amax / (6.0f * 448.0f);
  const float global = layer.global_scale;
  parallel_for(n, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t row = begin; row < end; ++row) {
      for (std::int64_t block = 0; block < k / 16; ++block) {
        const float* values = &w[static_cast<std::size_t>(row * k + block * 16)];
        float block_amax = 0;
        for (int i = 0; i < 16; ++i) block_amax = std::max(block_amax, std::fabs(values[i]));
        const float block_scale = block_amax / 6.0f;
        const float scale_over_global = block_scale == 0.0f ? 1.0f : block_scale / global;
        const std::uint8_t scale_code = e4m3fn_from_double(scale_over_global);
        layer.scale(row, block) = scale_code;
        const float denominator = static_cast<float>(e4m3fn_to_double(scale_code)) * global;
        for (int i = 0; i < 16; ++i) {
          // A scale that rounded to zero cannot divide: its block dequantizes to zero whatever the codes.
          const std::uint8_t code = denominator == 0.0f ? std::uint8_t{0} : e2m1_from_double(values[i] / denominator);
          layer.set_code(row, block * 16 + i, code);
        }
      }
    }
  });
  return layer;
}

inline Nvfp4HostLayer make_realistic_layer(std::int64_t n, std::int64_t k, std::uint64_t seed) {
  return quantize_nvfp4_like_modelopt(random_bf16_weights(n, k, seed), n, k);
}

// The adversarial layer's rows (output columns) fall into four regimes by row % 4, so a test can judge each
// regime's error on its own instead of letting the largest one dominate the norm:
//   0 extremes:  normal scales in [2^-6, 2) of random sign, plus one block at ±448 (0x7E / 0xFE);
//   1 subnormal: every scale an e4m3 subnormal 2^-9..7·2^-9 of random sign (block 0 exactly 0x01);
//   2 signed:    normal scales in [2^-6, 16) of random sign;
//   3 zeros:     a quarter of the blocks scale +0 and a quarter −0 (0x80) over random codes, a quarter all-zero
//                (codes ±0, scale ±0), the rest normal scales.
// Global scale 1.0. Row 0, block 0 holds every e2m1 code 0..15 in order under scale 1.0. Outputs of N(0,1)
// activations stay well inside fp16's range for K up to ~16k.
inline constexpr int kAdversarialRegimes = 4;
inline const char* adversarial_regime_name(int regime) {
  static const char* const kNames[kAdversarialRegimes] = {"extremes", "subnormal", "signed", "zeros"};
  return kNames[regime];
}

inline Nvfp4HostLayer make_adversarial_layer(std::int64_t n, std::int64_t k, std::uint64_t seed) {
  Nvfp4HostLayer layer(n, k);
  layer.global_scale = 1.0f;
  const std::int64_t blocks = k / 16;
  parallel_for(n, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t row = begin; row < end; ++row) {
      TestRng rng(stream_seed(seed, static_cast<std::uint64_t>(row)));
      const int regime = static_cast<int>(row % kAdversarialRegimes);
      // Each helper draws in a fixed order, so the bytes do not depend on the compiler's evaluation order.
      const auto random_sign = [&](double p_negative) { return rng.chance(p_negative) ? 0x80u : 0u; };
      const auto normal_scale = [&](unsigned max_exponent_field, double p_negative) {
        const unsigned exponent_field = 1 + rng.below(max_exponent_field);
        const unsigned mantissa = rng.below(8);
        return (exponent_field << 3) | mantissa | random_sign(p_negative);
      };
      const std::int64_t extreme_block =
          blocks > 1 ? 1 + static_cast<std::int64_t>(rng.below(static_cast<unsigned>(blocks - 1))) : 0;
      for (std::int64_t block = 0; block < blocks; ++block) {
        unsigned scale = 0;
        bool zero_codes = false;
        switch (regime) {
          case 0:
            scale = block == extreme_block ? ((row / 4) % 2 == 0 ? 0x7Eu : 0xFEu) : normal_scale(7, 0.5);
            break;
          case 1: {
            const unsigned mantissa = 1 + rng.below(7);
            scale = block == 0 ? 0x01u : mantissa | random_sign(0.5);
            break;
          }
          case 2:
            scale = normal_scale(10, 0.5);
            break;
          default: {
            const unsigned pick = rng.below(4);
            zero_codes = pick == 2;
            scale = pick == 0 ? 0x00u : pick == 1 ? 0x80u : pick == 2 ? random_sign(0.5) : normal_scale(7, 0.5);
            break;
          }
        }
        layer.scale(row, block) = static_cast<std::uint8_t>(scale);
        for (int i = 0; i < 16; ++i) {
          const unsigned code = zero_codes ? (rng.chance(0.5) ? 8u : 0u) : rng.below(16);
          layer.set_code(row, block * 16 + i, static_cast<std::uint8_t>(code));
        }
      }
      if (row == 0) {
        layer.scale(0, 0) = 0x38;  // 1.0
        for (int i = 0; i < 16; ++i) layer.set_code(0, i, static_cast<std::uint8_t>(i));
      }
    }
  });
  return layer;
}

// An adversarial layer with one NaN scale byte (0x7F or 0xFF) at scale index `position` of the flattened
// [n][k/16] tensor; a negative position picks a random one. Preparation must refuse it.
inline Nvfp4HostLayer make_nan_scale_layer(std::int64_t n, std::int64_t k, std::uint64_t seed, std::uint8_t nan_byte,
                                           std::int64_t position = -1) {
  if (!e4m3fn_is_nan(nan_byte)) throw std::invalid_argument("make_nan_scale_layer: not a NaN code");
  Nvfp4HostLayer layer = make_adversarial_layer(n, k, seed);
  const auto count = static_cast<std::int64_t>(layer.weight_scale.size());
  if (position < 0) position = static_cast<std::int64_t>(TestRng(seed).next() % static_cast<std::uint64_t>(count));
  layer.weight_scale[static_cast<std::size_t>(position % count)] = nan_byte;
  return layer;
}

enum class CheckpointKind { realistic, adversarial };
inline const char* checkpoint_kind_name(CheckpointKind kind) {
  return kind == CheckpointKind::realistic ? "realistic" : "adversarial";
}

inline Nvfp4HostLayer make_layer(CheckpointKind kind, std::int64_t n, std::int64_t k, std::uint64_t seed) {
  return kind == CheckpointKind::realistic ? make_realistic_layer(n, k, seed) : make_adversarial_layer(n, k, seed);
}

// ---- activations

// `count` values N(0, 1) in the dtype's bits, none of them ±0 (a zero would hide an unread input).
inline std::vector<std::uint16_t> random_half_values(std::int64_t count, DType dtype, std::uint64_t seed) {
  constexpr std::int64_t kChunk = 1 << 14;
  std::vector<std::uint16_t> out(static_cast<std::size_t>(count));
  parallel_for((count + kChunk - 1) / kChunk, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t chunk = begin; chunk < end; ++chunk) {
      TestRng rng(stream_seed(seed, static_cast<std::uint64_t>(chunk)));
      for (std::int64_t i = chunk * kChunk; i < std::min(count, (chunk + 1) * kChunk); ++i) {
        std::uint16_t bits;
        do {
          bits = half_from_double(rng.normal(), dtype);
        } while ((bits & 0x7FFF) == 0);
        out[static_cast<std::size_t>(i)] = bits;
      }
    }
  });
  return out;
}

inline std::vector<double> half_values_to_double(const std::vector<std::uint16_t>& bits, DType dtype) {
  std::vector<double> out(bits.size());
  parallel_for(static_cast<std::int64_t>(bits.size()), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      out[static_cast<std::size_t>(i)] = half_to_double(bits[static_cast<std::size_t>(i)], dtype);
    }
  });
  return out;
}

}  // namespace marlin_jit::test
