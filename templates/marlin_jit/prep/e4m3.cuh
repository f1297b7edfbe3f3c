// FP8 E4M3 (fn) scale decoding and the prepared scale byte (fp16 exponent + 3 mantissa bits of |s|·2^7).
// See common/fp4_dequant.cuh for why that byte is exact for every finite nonzero e4m3 value.
#pragma once

#include <cuda_fp16.h>

namespace marlin_jit::kernels {

__device__ __forceinline__ bool e4m3_is_nan(unsigned char code) { return (code & 0x7F) == 0x7F; }
__device__ __forceinline__ bool e4m3_is_zero(unsigned char code) { return (code & 0x7F) == 0; }

// |value| of a finite e4m3 code, exactly (bias 7, subnormals m·2^-9).
__device__ __forceinline__ float e4m3_magnitude(unsigned char code) {
  const int exponent = (code >> 3) & 0xF;
  const int mantissa = code & 0x7;
  return exponent == 0 ? ldexpf(static_cast<float>(mantissa), -9)
                       : ldexpf(static_cast<float>(8 + mantissa), exponent - 10);
}

// The byte whose <<7 is the fp16 encoding of |s|·2^7 (exponent field 13..30, 3 mantissa bits).
__device__ __forceinline__ unsigned char prepared_scale_byte(unsigned char code) {
  const __half scaled = __float2half_rn(e4m3_magnitude(code) * 128.0f);
  return static_cast<unsigned char>((__half_as_ushort(scaled) >> 7) & 0xFF);
}

}  // namespace marlin_jit::kernels
