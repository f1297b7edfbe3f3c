// What a KernelHandle points at: one compiled kernel, loaded (cuLibrary) and prepared for one device. Immutable
// once published, so launches read it without a lock; the Runtime that made it owns the library it came from.
// KernelHandleAccess is the library's only way to name the state and to make a handle from one.
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

namespace detail {

struct KernelHandleAccess {
  using State = KernelHandle::State;
  static KernelHandle make(std::shared_ptr<const State> state) { return KernelHandle(std::move(state)); }
};

}  // namespace detail

}  // namespace marlin_jit
