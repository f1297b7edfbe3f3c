// CPU reference of the NVFP4 preparation (checkpoint → the layout in templates/marlin_jit/gemm/nvfp4_layout.cuh)
// and of how the kernel reads that layout back (bit-exact emulation of decode_e2m1_pair / expand_scale_pair + scale_half and
// the fp16/bf16 product). Written from the layout's description, independently of the device code, so tests can
// compare GPU-prepared bytes to it and prove the decode exact on the CPU.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "nvfp4_checkpoint.hpp"

namespace marlin_jit::test {

struct PreparedHostLayer {
  std::int64_t n = 0, k = 0, n_padded = 0;
  std::vector<std::uint32_t> words;  // codes
  std::vector<std::uint8_t> scales;  // scale bytes
};

// The prepared byte of a finite nonzero e4m3 magnitude: fp16 bits of |s|·2^7, bits [14:7].
inline std::uint8_t prepared_scale_byte_reference(std::uint8_t e4m3) {
  const double scaled = std::fabs(e4m3fn_to_double(e4m3)) * 128.0;
  return static_cast<std::uint8_t>((fp16_from_double(scaled) >> 7) & 0xFF);
}

// Placement walks the checkpoint (row, col) and puts each code where the layout comment says it goes.
inline PreparedHostLayer prepare_reference(const Nvfp4HostLayer& layer) {
  PreparedHostLayer out;
  out.n = layer.n;
  out.k = layer.k;
  out.n_padded = (layer.n + 63) / 64 * 64;
  const std::int64_t k_chunks = layer.k / 64;
  out.words.assign(static_cast<std::size_t>(out.n_padded / 16 * k_chunks * 128), 0);
  out.scales.assign(static_cast<std::size_t>(out.n_padded * layer.k / 16), 0);
  for (std::int64_t row = 0; row < layer.n; ++row) {
    const std::int64_t c = row / 16, half = (row % 16) / 8, g = row % 8;
    for (std::int64_t block = 0; block < layer.k / 16; ++block) {
      const std::uint8_t scale = layer.scale(row, block);
      const bool zero = (scale & 0x7F) == 0, nan = (scale & 0x7F) == 0x7F;
      const std::int64_t q = block / 4, j = block % 4;
      const std::int64_t atom = c * k_chunks + q;
      const std::int64_t byte = 4 * (j / 2) + 2 * half + (j % 2);
      out.scales[static_cast<std::size_t>(atom * 64 + g * 8 + byte)] =
          (zero || nan) ? 0 : prepared_scale_byte_reference(scale);
      for (std::int64_t kin = 0; kin < 16; ++kin) {
        const std::int64_t high = kin / 8, t = (kin % 8) / 2, e = kin % 2;
        const std::int64_t pair = 2 * half + high, lane = 4 * g + t;
        std::uint32_t code = layer.code(row, 16 * block + kin);
        if (zero || nan) {
          code = 0;  // a zero block is +0 whatever the scale's sign
        } else if (scale & 0x80) {
          code ^= 0x8;
        }
        out.words[static_cast<std::size_t>((atom * 32 + lane) * 4 + j)] |= code << (12 - 4 * pair + 16 * e);
      }
    }
  }
  return out;
}

// The value the kernel's MMA sees for weight (row, col), times the epilogue's global·2^7: emulates the bit tricks
// and the one rounding of the dtype multiply. nullopt if that multiply would round (the exactness claim failing).
inline std::optional<double> kernel_weight_reference(const PreparedHostLayer& prepared, float global_scale,
                                                     std::int64_t row, std::int64_t col, DType dtype) {
  const std::int64_t c = row / 16, half = (row % 16) / 8, g = row % 8;
  const std::int64_t block = col / 16, kin = col % 16;
  const std::int64_t q = block / 4, j = block % 4, atom = c * (prepared.k / 64) + q;
  const std::int64_t pair = 2 * half + kin / 8, t = (kin % 8) / 2, e = kin % 2;
  const std::uint32_t word = prepared.words[static_cast<std::size_t>((atom * 32 + 4 * g + t) * 4 + j)];
  // decode_e2m1_pair
  const std::uint32_t aligned = word << (4 * pair);
  const std::uint32_t decoded = dtype == DType::bf16 ? (aligned & 0x80008000u) | ((aligned >> 6) & 0x01C001C0u)
                                                     : (aligned & 0x80008000u) | ((aligned >> 3) & 0x0E000E00u);
  const std::uint16_t weight_bits = static_cast<std::uint16_t>(decoded >> (16 * e));
  // expand_scale_pair + scale_half: the byte of this group (parity j & 1) and column half, expanded
  const std::uint8_t* group_bytes = &prepared.scales[static_cast<std::size_t>(atom * 64 + g * 8)];
  const std::uint32_t byte = group_bytes[4 * (j / 2) + (j & 1) + 2 * half];
  const std::uint32_t spread = byte | (byte << 16);
  const std::uint32_t expanded = dtype == DType::bf16 ? spread * 16u + 0x70007000u : spread << 7;
  const std::uint16_t scale_bits = static_cast<std::uint16_t>(expanded);
  const double product = half_to_double(weight_bits, dtype) * half_to_double(scale_bits, dtype);  // exact in double
  if (half_to_double(half_from_double(product, dtype), dtype) != product) return std::nullopt;
  return product * static_cast<double>(global_scale * 128.0f);
}

}  // namespace marlin_jit::test
