// What the GPU self-checks share (dense: self_check.cpp, MoE: self_check_moe.cpp): fp16/bf16 host conversions from
// CUDA's own headers, NVFP4 code values, device memory through the driver table, and the MoE part's entry point.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "driver/cuda_driver.hpp"
#include "marlin_jit/runtime.hpp"
#include "marlin_jit/self_check.hpp"

namespace marlin_jit::ops::self_check {

inline std::uint16_t to_bits(float value, DType dtype) {
  if (dtype == DType::bf16) return static_cast<__nv_bfloat16_raw>(__float2bfloat16_rn(value)).x;
  return static_cast<__half_raw>(__float2half_rn(value)).x;
}

inline double from_bits(std::uint16_t bits, DType dtype) {
  if (dtype == DType::bf16) {
    __nv_bfloat16_raw raw;
    raw.x = bits;
    return __bfloat162float(__nv_bfloat16(raw));
  }
  __half_raw raw;
  raw.x = bits;
  return __half2float(__half(raw));
}

inline double e2m1_value(unsigned code) {
  static constexpr double kMagnitudes[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
  return (code & 8) ? -kMagnitudes[code & 7] : kMagnitudes[code & 7];
}

inline double e4m3_value(unsigned code) {
  const int exponent = (code >> 3) & 0xF, mantissa = code & 7;
  const double magnitude = exponent == 0 ? std::ldexp(mantissa, -9) : std::ldexp(8 + mantissa, exponent - 10);
  return (code & 0x80) ? -magnitude : magnitude;
}

// Device buffer through the driver table, freed on scope exit.
class DeviceMemory {
 public:
  explicit DeviceMemory(std::size_t bytes) {
    detail::check_cu(detail::driver().cuMemAlloc(&pointer_, bytes), "cuMemAlloc");
  }
  DeviceMemory(DeviceMemory&& other) noexcept : pointer_(other.pointer_) { other.pointer_ = 0; }
  ~DeviceMemory() {
    if (pointer_ != 0) detail::driver().cuMemFree(pointer_);
  }
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;
  CUdeviceptr get() const { return pointer_; }

 private:
  CUdeviceptr pointer_ = 0;
};

template <typename T>
DeviceMemory upload(const std::vector<T>& host, CUstream stream) {
  DeviceMemory memory(host.size() * sizeof(T));
  detail::check_cu(detail::driver().cuMemcpyHtoDAsync(memory.get(), host.data(), host.size() * sizeof(T), stream),
                   "cuMemcpyHtoDAsync");
  return memory;
}

}  // namespace marlin_jit::ops::self_check

namespace marlin_jit {

// Prepares a small random MoE layer of each activation (odd intermediate size, so padding is exercised), applies it
// in fp16 and bf16 and adds one case per (activation, dtype) to `report`, judged against a float64 reference.
void append_moe_self_check(Runtime& runtime, CUstream stream, std::mt19937& rng, SelfCheckReport& report);

}  // namespace marlin_jit
