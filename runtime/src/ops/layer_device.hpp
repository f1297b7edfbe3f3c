// The device a prepared layer lives on (its context, device ordinal and limits) and the device memory it owns,
// shared by the dense and MoE layers. Freeing happens in the layer's own context, whichever is current.
#pragma once

#include <cstdint>
#include <vector>

#include <cuda.h>

#include "dispatch/tile_select.hpp"
#include "marlin_jit/runtime.hpp"

namespace marlin_jit::ops {

struct LayerDevice {
  CUcontext context = nullptr;
  int device = 0;
  dispatch::DeviceLimits limits;
};

// The calling thread's current context (device 0's primary one if none), its device and limits; refuses devices
// outside the SM range (rule sm_range). Throws DriverError without a driver or device.
LayerDevice current_layer_device();

// Device buffers allocated in one context, freed together (in that context) on destruction. Not copyable.
class DeviceAllocations {
 public:
  DeviceAllocations() = default;
  explicit DeviceAllocations(CUcontext context) : context_(context) {}
  DeviceAllocations(DeviceAllocations&& other) noexcept;
  DeviceAllocations& operator=(DeviceAllocations&& other) noexcept;
  DeviceAllocations(const DeviceAllocations&) = delete;
  ~DeviceAllocations();

  CUdeviceptr allocate(std::uint64_t bytes);  // throws DriverError

 private:
  CUcontext context_ = nullptr;
  std::vector<CUdeviceptr> pointers_;
};

// A preparation / routing kernel by op name (compile/kernel_catalog.hpp) for `sm`.
KernelHandle prep_kernel(Runtime& runtime, int sm, const char* op);

// Blocks of `block` threads covering `threads_total`.
unsigned blocks_for(std::int64_t threads_total, unsigned block);

}  // namespace marlin_jit::ops
