// CPU reference of the NVFP4 preparation (checkpoint → nvfp4_layout.cuh's layout, K padded to 64, a gated W1's
// gate/up interleave) and of the kernel's bit-exact read-back (decode_e2m1_pair, expand_scale_pair, the dtype
// product). Written from the layout's description, not the device code, so GPU bytes can be compared with it.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "nvfp4_checkpoint.hpp"

namespace marlin_jit::test {

struct PreparedHostLayer {
  std::int64_t n = 0, k = 0;                // the checkpoint's rows and K
  std::int64_t n_padded = 0, k_padded = 0;  // the prepared rows and K (multiples of 64)
  std::int64_t gated_rows = 0;              // I of a gated W1 (n = 2I), else 0
  std::vector<std::uint32_t> words;         // codes
  std::vector<std::uint8_t> scales;         // scale bytes
};

// The prepared byte of a finite nonzero e4m3 magnitude: fp16 bits of |s|·2^7, bits [14:7].
inline std::uint8_t prepared_scale_byte_reference(std::uint8_t e4m3) {
  const double scaled = std::fabs(e4m3fn_to_double(e4m3)) * 128.0;
  return static_cast<std::uint8_t>((fp16_from_double(scaled) >> 7) & 0xFF);
}

inline std::int64_t round_up_to(std::int64_t x, std::int64_t multiple) {
  return (x + multiple - 1) / multiple * multiple;
}

// Prepared rows of a layer: n rounded up to 64, or for a gated W1 each half (gate, up) rounded up on its own.
inline std::int64_t prepared_rows_reference(std::int64_t n, std::int64_t gated_rows) {
  return gated_rows == 0 ? round_up_to(n, 64) : 2 * round_up_to(gated_rows, 64);
}

// Where checkpoint row `row` goes. A gated W1 holds gate rows [0, I) then up rows [I, 2I); prepared 16-row block 2j
// holds gate rows 16j..16j+15 and block 2j + 1 the up rows of the same outputs (rows past I in the last block are
// padding).
inline std::int64_t prepared_row_reference(std::int64_t row, std::int64_t gated_rows) {
  if (gated_rows == 0) return row;
  const std::int64_t is_up = row / gated_rows, output = row % gated_rows;
  return 32 * (output / 16) + 16 * is_up + output % 16;
}

// Places one checkpoint row's scale bytes and codes at prepared row `target`.
inline void place_reference_row(const Nvfp4HostLayer& layer, std::int64_t row, std::int64_t target,
                                PreparedHostLayer& out) {
  const std::int64_t k_chunks = out.k_padded / 64;
  const std::int64_t c = target / 16, half = (target % 16) / 8, g = target % 8;
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

// Placement walks the checkpoint (row, col) and puts each code where the layout comment says it goes; everything
// not placed (rows past the checkpoint's or a gated half's, K past k) stays zero codes under zero scale bytes.
// k_padded: a multiple of 64 that is at least k (default k rounded up to 64). gated_rows: 0, or I with n = 2I.
inline PreparedHostLayer prepare_reference(const Nvfp4HostLayer& layer, std::optional<std::int64_t> k_padded = {},
                                           std::int64_t gated_rows = 0) {
  PreparedHostLayer out;
  out.n = layer.n;
  out.k = layer.k;
  out.k_padded = k_padded.value_or(round_up_to(layer.k, 64));
  out.gated_rows = gated_rows;
  if (out.k_padded % 64 != 0 || out.k_padded < layer.k) {
    throw std::invalid_argument("prepare_reference: k_padded " + std::to_string(out.k_padded) +
                                " is not a multiple of 64 at least k = " + std::to_string(layer.k));
  }
  if (gated_rows < 0 || (gated_rows > 0 && layer.n != 2 * gated_rows)) {
    throw std::invalid_argument("prepare_reference: a gated layer needs n = 2 * gated_rows, got n = " +
                                std::to_string(layer.n) + ", gated_rows = " + std::to_string(gated_rows));
  }
  out.n_padded = prepared_rows_reference(layer.n, gated_rows);
  out.words.assign(static_cast<std::size_t>(out.n_padded / 16 * (out.k_padded / 64) * 128), 0);
  out.scales.assign(static_cast<std::size_t>(out.n_padded * out.k_padded / 16), 0);
  for (std::int64_t row = 0; row < layer.n; ++row) {
    place_reference_row(layer, row, prepared_row_reference(row, gated_rows), out);
  }
  return out;
}

// The value the kernel's MMA sees for weight (row, col) of the prepared layout (row: a prepared row), times the
// epilogue's global·2^7: emulates the bit tricks and the one rounding of the dtype multiply. nullopt if that
// multiply would round (the exactness claim failing).
inline std::optional<double> kernel_weight_reference(const PreparedHostLayer& prepared, float global_scale,
                                                     std::int64_t row, std::int64_t col, DType dtype) {
  const std::int64_t c = row / 16, half = (row % 16) / 8, g = row % 8;
  const std::int64_t block = col / 16, kin = col % 16;
  const std::int64_t q = block / 4, j = block % 4, atom = c * (prepared.k_padded / 64) + q;
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
