// Activation dtypes on the device: fp16 (__half) and bf16 (__nv_bfloat16), their packed pairs and conversions.
// Device code only; visible to NVRTC.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace marlin_jit::kernels {

template <typename T>
struct DTypeTraits;

template <>
struct DTypeTraits<__half> {
  using Pair = __half2;
  static constexpr bool kIsBf16 = false;
  __device__ static __half from_float(float x) { return __float2half_rn(x); }
  __device__ static float to_float(__half x) { return __half2float(x); }
  __device__ static __half2 pair_from_floats(float lo, float hi) { return __floats2half2_rn(lo, hi); }
};

template <>
struct DTypeTraits<__nv_bfloat16> {
  using Pair = __nv_bfloat162;
  static constexpr bool kIsBf16 = true;
  __device__ static __nv_bfloat16 from_float(float x) { return __float2bfloat16_rn(x); }
  __device__ static float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
  __device__ static __nv_bfloat162 pair_from_floats(float lo, float hi) { return __floats2bfloat162_rn(lo, hi); }
};

// Reinterpret a 32-bit register as a packed pair and back, without conversion.
template <typename Pair>
__device__ __forceinline__ Pair bits_to_pair(unsigned int bits) {
  return *reinterpret_cast<Pair*>(&bits);
}
template <typename Pair>
__device__ __forceinline__ unsigned int pair_to_bits(Pair pair) {
  return *reinterpret_cast<unsigned int*>(&pair);
}

}  // namespace marlin_jit::kernels
