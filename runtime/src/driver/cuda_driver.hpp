// The CUDA driver table: libcuda.so.1 is dlopen'ed on first use and every entry point is resolved through
// cuGetProcAddress_v2, pinned to the ABI version of its PFN_*_vNNNN typedef. Files outside runtime/src/driver/
// never call cu* functions themselves; they go through driver(). Without a driver, only calls through here fail.
#pragma once

#include <cuda.h>
#include <cudaTypedefs.h>

namespace marlin_jit::detail {

// Members are named like the driver functions and have the signatures cuda.h declares for those names (CUDA 13:
// cuCtxGetDevice/cuCtxSynchronize take no context, cuStreamGetCtx has no green-context argument).
struct DriverApi {
  PFN_cuInit_v2000 cuInit = nullptr;
  PFN_cuDriverGetVersion_v2020 cuDriverGetVersion = nullptr;
  PFN_cuDeviceGet_v2000 cuDeviceGet = nullptr;
  PFN_cuDeviceGetCount_v2000 cuDeviceGetCount = nullptr;
  PFN_cuDeviceGetName_v2000 cuDeviceGetName = nullptr;
  PFN_cuDeviceGetAttribute_v2000 cuDeviceGetAttribute = nullptr;
  PFN_cuDeviceTotalMem_v3020 cuDeviceTotalMem = nullptr;
  PFN_cuDevicePrimaryCtxRetain_v7000 cuDevicePrimaryCtxRetain = nullptr;
  PFN_cuCtxGetCurrent_v4000 cuCtxGetCurrent = nullptr;
  PFN_cuCtxSetCurrent_v4000 cuCtxSetCurrent = nullptr;
  PFN_cuCtxGetDevice_v2000 cuCtxGetDevice = nullptr;
  PFN_cuCtxSynchronize_v2000 cuCtxSynchronize = nullptr;
  PFN_cuLibraryLoadData_v12000 cuLibraryLoadData = nullptr;
  PFN_cuLibraryUnload_v12000 cuLibraryUnload = nullptr;
  PFN_cuLibraryGetKernel_v12000 cuLibraryGetKernel = nullptr;
  PFN_cuKernelSetAttribute_v12000 cuKernelSetAttribute = nullptr;
  PFN_cuKernelGetAttribute_v12000 cuKernelGetAttribute = nullptr;
  PFN_cuKernelGetFunction_v12000 cuKernelGetFunction = nullptr;
  PFN_cuLaunchKernel_v4000 cuLaunchKernel = nullptr;
  PFN_cuMemAlloc_v3020 cuMemAlloc = nullptr;
  PFN_cuMemFree_v3020 cuMemFree = nullptr;
  PFN_cuMemHostAlloc_v2020 cuMemHostAlloc = nullptr;
  PFN_cuMemFreeHost_v2000 cuMemFreeHost = nullptr;
  PFN_cuMemHostGetDevicePointer_v3020 cuMemHostGetDevicePointer = nullptr;
  PFN_cuMemsetD8Async_v3020 cuMemsetD8Async = nullptr;
  PFN_cuMemsetD32Async_v3020 cuMemsetD32Async = nullptr;
  PFN_cuMemcpyHtoDAsync_v3020 cuMemcpyHtoDAsync = nullptr;
  PFN_cuMemcpyDtoHAsync_v3020 cuMemcpyDtoHAsync = nullptr;
  PFN_cuMemcpyDtoDAsync_v3020 cuMemcpyDtoDAsync = nullptr;
  PFN_cuStreamSynchronize_v2000 cuStreamSynchronize = nullptr;
  PFN_cuStreamIsCapturing_v10000 cuStreamIsCapturing = nullptr;
  PFN_cuStreamGetCtx_v9020 cuStreamGetCtx = nullptr;
  PFN_cuGetErrorName_v6000 cuGetErrorName = nullptr;
  PFN_cuGetErrorString_v6000 cuGetErrorString = nullptr;
};

// Loads the driver once (std::call_once) and runs cuInit(0). Throws DriverError (call "dlopen libcuda.so.1",
// "cuGetProcAddress <name>" or "cuInit") when that fails; every later call rethrows the same error. Thread-safe.
const DriverApi& driver();

// True when driver() succeeds. Never throws; loads the driver on first call.
bool driver_available() noexcept;

// Throws DriverError naming `call` and the result's cuGetErrorName when result != CUDA_SUCCESS.
void check_cu(CUresult result, const char* call);

// The device of the calling thread's current context; when none is current, retains device 0's primary
// context and makes it current. Throws DriverError without a driver or a device.
CUdevice ensure_current_context();

}  // namespace marlin_jit::detail
