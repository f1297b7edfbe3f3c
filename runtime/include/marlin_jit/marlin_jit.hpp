// The whole public API of marlin-jit in one include: errors, logging, vocabulary types and kernel specs, the
// dispatcher's rules, the JIT runtime (compile, get_kernel, launch), device queries, versions, NVFP4 dense and MoE layers.
#pragma once

#include "marlin_jit/catalog.hpp"
#include "marlin_jit/checkpoint.hpp"
#include "marlin_jit/device.hpp"
#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"
#include "marlin_jit/kernel_spec.hpp"
#include "marlin_jit/log.hpp"
#include "marlin_jit/nvfp4_linear.hpp"
#include "marlin_jit/nvfp4_moe.hpp"
#include "marlin_jit/runtime.hpp"
#include "marlin_jit/types.hpp"
#include "marlin_jit/version.hpp"
