// The device and memory of prepared layers (see layer_device.hpp).
#include "ops/layer_device.hpp"

#include <utility>

#include "compile/kernel_catalog.hpp"
#include "driver/cuda_driver.hpp"
#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/kernel_spec.hpp"

namespace marlin_jit::ops {
namespace {

int attribute(CUdevice_attribute which, CUdevice device) {
  int value = 0;
  detail::check_cu(detail::driver().cuDeviceGetAttribute(&value, which, device), "cuDeviceGetAttribute");
  return value;
}

}  // namespace

LayerDevice current_layer_device() {
  LayerDevice layer;
  const CUdevice device = detail::ensure_current_context();
  detail::check_cu(detail::driver().cuCtxGetCurrent(&layer.context), "cuCtxGetCurrent");
  layer.device = static_cast<int>(device);
  layer.limits.sm = 10 * attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device) +
                    attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
  layer.limits.multiprocessors = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device);
  layer.limits.max_shared_bytes_per_block = attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, device);
  layer.limits.max_shared_bytes_per_sm = attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR, device);
  check_sm(layer.limits.sm);
  return layer;
}

DeviceAllocations::DeviceAllocations(DeviceAllocations&& other) noexcept
    : context_(other.context_), pointers_(std::move(other.pointers_)) {
  other.pointers_.clear();
}

DeviceAllocations& DeviceAllocations::operator=(DeviceAllocations&& other) noexcept {
  DeviceAllocations released(std::move(*this));  // frees what this held, in its context
  context_ = other.context_;
  pointers_ = std::move(other.pointers_);
  other.pointers_.clear();
  return *this;
}

DeviceAllocations::~DeviceAllocations() {
  if (pointers_.empty() || !detail::driver_available()) return;
  const auto& cu = detail::driver();
  CUcontext previous = nullptr;
  cu.cuCtxGetCurrent(&previous);
  if (previous != context_) cu.cuCtxSetCurrent(context_);
  for (CUdeviceptr pointer : pointers_) cu.cuMemFree(pointer);
  if (previous != context_) cu.cuCtxSetCurrent(previous);
}

CUdeviceptr DeviceAllocations::allocate(std::uint64_t bytes) {
  CUdeviceptr pointer = 0;
  detail::check_cu(detail::driver().cuMemAlloc(&pointer, bytes == 0 ? 1 : bytes), "cuMemAlloc");
  pointers_.push_back(pointer);
  return pointer;
}

KernelHandle prep_kernel(Runtime& runtime, int sm, const char* op) {
  KernelSpec spec;
  spec.kind = KernelKind::prep;
  spec.sm = sm;
  spec.prep_op = op;
  return runtime.get_kernel(request_for(spec));
}

unsigned blocks_for(std::int64_t threads_total, unsigned block) {
  return static_cast<unsigned>((threads_total + block - 1) / block);
}

}  // namespace marlin_jit::ops
