// Dense NVFP4 linear layers: prepare a ModelOpt checkpoint layer once, then apply it many times.
// out[M,N] = input[M,K] · dequant(W)[N,K]ᵀ (+ bias), input/output fp16 or bf16, through the JIT Marlin kernel.
// Errors: ConfigError for bad shapes/dtypes/scales (before any launch), CompileError, DriverError.
#pragma once

#include <cstdint>
#include <memory>

#include <cuda.h>

#include "marlin_jit/types.hpp"
#include "marlin_jit/export.h"

// The library's private accessor: declared outside the exported region, defined in runtime/src only.
namespace marlin_jit::detail {
struct PreparedLayerAccess;
}

MARLIN_JIT_API_BEGIN
namespace marlin_jit {

class Runtime;

// Device pointers to one layer's checkpoint tensors, exactly as ModelOpt stores them.
struct Nvfp4CheckpointLayer {
  CUdeviceptr weight = 0;        // uint8 [N, K/2]: two e2m1 codes a byte, lower K index in the low nibble
  CUdeviceptr weight_scale = 0;  // float8_e4m3fn [N, K/16]
  float weight_scale_2 = 1.0f;   // global scale
  std::int64_t n = 0;
  std::int64_t k = 0;
};

// The layer in the kernel's layout, in device memory owned by this object (freed on destruction, on the device
// it was prepared on). Movable, not copyable. Independent of the activation dtype.
class PreparedNvfp4Linear {
 public:
  PreparedNvfp4Linear(PreparedNvfp4Linear&&) noexcept;
  PreparedNvfp4Linear& operator=(PreparedNvfp4Linear&&) noexcept;
  ~PreparedNvfp4Linear();

  std::int64_t n() const;         // logical N (output columns)
  std::int64_t k() const;
  std::int64_t padded_n() const;  // N rounded up to the kernel's N granularity
  int device() const;

 private:
  friend struct detail::PreparedLayerAccess;  // the library makes and reads layers (runtime/src/ops)
  struct Impl;
  explicit PreparedNvfp4Linear(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Converts the checkpoint tensors on the GPU (JIT-compiled preparation kernels) on `stream`, and waits for them:
// NaN scale codes are refused with ConfigError (rule "nvfp4_scale_finite"). Negative scales are exact (their
// sign is folded into the codes). The checkpoint buffers may be freed once this returns.
PreparedNvfp4Linear prepare_nvfp4_linear(Runtime& runtime, const Nvfp4CheckpointLayer& layer, CUstream stream);

// How apply computes the product. automatic: the Marlin kernel up to the measured crossover M, above it (when
// libcublas is present) dequantize the layer into per-stream scratch (N·K·2 bytes) and run one cuBLAS GEMM.
enum class GemmPath { automatic, marlin, dequant_cublas };

struct LinearApplyArgs {
  CUdeviceptr input = 0;   // [M, K] row-major, dtype
  CUdeviceptr output = 0;  // [M, N] row-major, dtype
  CUdeviceptr bias = 0;    // [N] dtype, or 0
  std::int64_t m = 0;
  DType dtype = DType::bf16;
  GemmPath path = GemmPath::automatic;
};

// Enqueues out = input · Wᵀ (+ bias) on `stream` (the current context's device must be the layer's). Validates
// through the dispatcher first (ConfigError before any launch); M = 0 is a no-op. The first call for a (dtype,
// tile) compiles or loads the kernel (may take a second); later calls take one shared lock in the runtime's memory
// layer and launch. Split-K shapes use a per-stream workspace that grows on first use: run a shape once eagerly on
// a stream before capturing it in a CUDA graph (growing during capture is refused with ConfigError).
void apply_nvfp4_linear(Runtime& runtime, const PreparedNvfp4Linear& layer, const LinearApplyArgs& args,
                        CUstream stream);

}  // namespace marlin_jit
MARLIN_JIT_API_END
