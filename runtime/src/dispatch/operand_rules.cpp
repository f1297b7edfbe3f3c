// Rules about the buffers and scalars handed to the ops (see operand_rules.hpp). Pure checks: no driver calls.
#include "dispatch/operand_rules.hpp"

#include <cmath>

#include "marlin_jit/error.hpp"

namespace marlin_jit::dispatch {

void check_device_pointer(const char* operand, CUdeviceptr pointer) {
  if (pointer != 0) return;
  throw ConfigError("null_pointer", std::string(operand) + "=0", "a device pointer",
                    std::string(operand) + " must be a device pointer, got 0");
}

void check_alignment(const char* operand, CUdeviceptr pointer, unsigned alignment) {
  if (pointer % alignment == 0) return;
  throw ConfigError(std::string(operand) + "_alignment", std::to_string(pointer % alignment) + " past alignment",
                    std::to_string(alignment) + "-byte aligned",
                    std::string(operand) + " must be " + std::to_string(alignment) +
                        "-byte aligned (the kernels move whole chunks)");
}

void check_global_scale(const std::string& operand, float global_scale) {
  if (std::isfinite(global_scale) && std::isfinite(global_scale * kGlobalScaleFold)) return;
  throw ConfigError("nvfp4_global_scale_finite", operand + "=" + std::to_string(global_scale),
                    "a finite float below 2^121",
                    operand + " must be finite (and leave room for the 2^7 fold), got " + std::to_string(global_scale));
}

void check_same_context(CUcontext current, CUcontext prepared, int prepared_device) {
  if (current == prepared) return;
  throw ConfigError("device_mismatch", current == nullptr ? "no current context" : "another context",
                    "the context the layer was prepared in (device " + std::to_string(prepared_device) + ")",
                    "apply must run in the CUDA context the layer was prepared in");
}

}  // namespace marlin_jit::dispatch
