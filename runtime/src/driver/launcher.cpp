// KernelHandle: the hot path. launch() is cuLaunchKernel on the prepared kernel plus a result check: no lock, no
// allocation (except to build the DriverError on failure), safe under CUDA graph capture.
#include "driver/cuda_driver.hpp"
#include "kernel_handle_state.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit {

void KernelHandle::launch(const LaunchDims& dims, CUstream stream, void** args) const {
  if (state_ == nullptr) throw InternalError("KernelHandle::launch on an empty handle (use Runtime::get_kernel)");
  detail::check_cu(state_->launch(state_->function, dims.grid[0], dims.grid[1], dims.grid[2], dims.block[0],
                                  dims.block[1], dims.block[2], dims.dynamic_shared_bytes, stream, args, nullptr),
                   "cuLaunchKernel");
}

const CompiledKernel& KernelHandle::compiled() const {
  if (state_ == nullptr) throw InternalError("KernelHandle::compiled on an empty handle (use Runtime::get_kernel)");
  return *state_->compiled;
}

}  // namespace marlin_jit
