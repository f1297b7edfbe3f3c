// Launch geometry of the preparation kernels that are not one thread per output element (templates/.../nvfp4_prep.cuh),
// shared by the runtime and the GPU tests so both launch them the same way.
#pragma once

#include <algorithm>
#include <cstdint>

#include "marlin_jit/runtime.hpp"

namespace marlin_jit::ops {

// nvfp4_dequantize: a block per row, one thread per 8 weights of a row up to 256 (they stride over longer rows).
inline LaunchDims dequantize_launch(std::int64_t n, std::int64_t k) {
  LaunchDims dims;
  const std::int64_t threads = (k / 8 + 31) / 32 * 32;  // whole warps
  dims.block[0] = static_cast<unsigned>(std::clamp<std::int64_t>(threads, 32, 256));
  dims.grid[0] = static_cast<unsigned>(n);
  return dims;
}

}  // namespace marlin_jit::ops
