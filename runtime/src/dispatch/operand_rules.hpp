// Rules null_pointer, input_alignment / output_alignment / <operand>_alignment, nvfp4_global_scale_finite and
// device_mismatch: what the ops check about the buffers and scalars a caller hands over (sizes and dtypes are
// shape_rules' and quant_rules' job). Each refusal throws ConfigError naming the operand and its value.
#pragma once

#include <cstdint>
#include <string>

#include <cuda.h>

namespace marlin_jit::dispatch {

// 2^7: the prepared kernels multiply the checkpoint global scale by it (templates/marlin_jit/common/fp4_dequant.cuh
// says why); the global-scale rule checks that the product stays finite.
inline constexpr float kGlobalScaleFold = 128.0f;

// Rule null_pointer: `pointer` is a device address (nonzero). `operand` names it ("input", "w1_scale", ...).
void check_device_pointer(const char* operand, CUdeviceptr pointer);

// Rule <operand>_alignment: `pointer` is a multiple of `alignment` bytes (the kernels copy 16-byte chunks and
// store packed pairs).
void check_alignment(const char* operand, CUdeviceptr pointer, unsigned alignment);

// Rule nvfp4_global_scale_finite: a checkpoint global scale (weight_scale_2) is finite and leaves room for the
// kernels' 2^7 fold (templates/marlin_jit/common/fp4_dequant.cuh). `operand` names it, with the expert if any.
void check_global_scale(const std::string& operand, float global_scale);

// Rule device_mismatch: the calling thread's current context is the one the layer was prepared in.
void check_same_context(CUcontext current, CUcontext prepared, int prepared_device);

}  // namespace marlin_jit::dispatch
