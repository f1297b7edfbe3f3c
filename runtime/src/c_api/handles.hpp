// What the C ABI's opaque handles hold: the C++ objects themselves.
#pragma once

#include "marlin_jit/c_api.h"
#include "marlin_jit/nvfp4_linear.hpp"
#include "marlin_jit/nvfp4_moe.hpp"
#include "marlin_jit/runtime.hpp"

struct mj_runtime {
  marlin_jit::Runtime runtime;
};

struct mj_nvfp4_linear {
  marlin_jit::PreparedNvfp4Linear layer;
};

struct mj_nvfp4_moe {
  marlin_jit::PreparedNvfp4Moe layer;
};
