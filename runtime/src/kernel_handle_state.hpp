// What a KernelHandle points at: one compiled kernel, loaded (cuLibrary) and prepared for one device. Immutable
// once published, so launches read it without a lock; the Runtime that made it owns the library it came from.
#pragma once

#include <memory>

#include <cuda.h>
#include <cudaTypedefs.h>

#include "marlin_jit/runtime.hpp"

namespace marlin_jit {

struct KernelHandle::State {
  std::shared_ptr<const CompiledKernel> compiled;
  CUfunction function = nullptr;                 // the CUkernel, cast as cuLaunchKernel accepts it
  PFN_cuLaunchKernel_v4000 launch = nullptr;     // the driver's entry, fetched once at load
  CUdevice device = 0;
  unsigned max_dynamic_shared_bytes = 0;         // the limit raised on `device` at load
};

}  // namespace marlin_jit
