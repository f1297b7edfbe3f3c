// The C ABI's enums and raw pointers as the C++ API's types. Each enum conversion refuses a value outside the C
// enum (ConfigError, rule c_api_argument, naming the field) instead of casting it blindly.
#pragma once

#include <cstdint>

#include <cuda.h>

#include "marlin_jit/c_api.h"
#include "marlin_jit/nvfp4_linear.hpp"
#include "marlin_jit/types.hpp"

namespace marlin_jit::c_api {

DType to_dtype(mj_dtype value, const char* field);
QuantType to_quant(mj_quant value, const char* field);
KernelKind to_kind(mj_kernel_kind value, const char* field);
Activation to_activation(mj_activation value, const char* field);
GemmPath to_gemm_path(mj_gemm_path value, const char* field);

inline CUdeviceptr device_pointer(const void* pointer) {
  return static_cast<CUdeviceptr>(reinterpret_cast<std::uintptr_t>(pointer));
}

inline CUstream cuda_stream(void* stream) { return static_cast<CUstream>(stream); }

}  // namespace marlin_jit::c_api
