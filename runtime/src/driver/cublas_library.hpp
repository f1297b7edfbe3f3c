// cuBLAS, loaded lazily (dlopen libcublas.so.13) for the large-M path: dequantize the layer, then one GemmEx.
// Like libcuda it is never linked: without it, the library still loads and apply falls back to the Marlin kernel.
// One handle per CUDA context; gemm() serialises the handle's (set stream, GemmEx) pair under a mutex.
// Errors: DriverError (call named) when a cuBLAS call fails; cublas_available() never throws.
#pragma once

#include <cstdint>

#include <cuda.h>

#include "marlin_jit/types.hpp"

namespace marlin_jit::detail {

bool cublas_available() noexcept;

// out[m][n] (row-major, dtype) = alpha · a[m][k] · w[n][k]ᵀ + beta · out, fp32 accumulation, on `stream`
// in the current context.
void cublas_gemm_nt(DType dtype, std::int64_t m, std::int64_t n, std::int64_t k, CUdeviceptr a, CUdeviceptr w,
                    CUdeviceptr out, float alpha, float beta, CUstream stream);

}  // namespace marlin_jit::detail
