// Loads a cubin as a context-independent CUDA library and prepares its kernel for a device: forces the load into
// the current context (so a later launch under graph capture does not load) and raises the dynamic shared memory
// limit. Throws DriverError; unload never throws and does nothing once the driver is gone.
#pragma once

#include <string>
#include <vector>

#include "driver/cuda_driver.hpp"

namespace marlin_jit::detail {

struct LoadedLibrary {
  CUlibrary library = nullptr;
  CUkernel kernel = nullptr;
};

LoadedLibrary load_library(const std::vector<char>& cubin, const std::string& lowered_name);

// For the current context's device `device`; `max_dynamic_shared_bytes` 0 leaves the limit as it is.
void prepare_on_device(CUkernel kernel, CUdevice device, unsigned max_dynamic_shared_bytes);

void unload_library(CUlibrary library) noexcept;

PFN_cuLaunchKernel_v4000 launch_entry();

}  // namespace marlin_jit::detail
