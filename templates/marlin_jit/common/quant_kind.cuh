// Quant types a kernel template can be instantiated for; values mirror marlin_jit::QuantType on the host.
// Only nvfp4 has kernels today; the others name the slots the same templates are designed to take.
#pragma once

namespace marlin_jit::kernels {

enum class QuantKind : int { nvfp4 = 0, mxfp4 = 1, uint4b8 = 2, uint4 = 3, uint8b128 = 4 };

}  // namespace marlin_jit::kernels
