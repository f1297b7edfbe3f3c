// Loads libcuda.so.1 on first use and resolves each driver entry point through cuGetProcAddress_v2.
// The only file that calls the driver; on a machine without one, only what goes through here fails, and it fails
// with the same DriverError every time (the load is attempted once per process).
#include "driver/cuda_driver.hpp"

#include <dlfcn.h>

#include <exception>
#include <map>
#include <mutex>
#include <string>

#include "internal/log.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit::detail {
namespace {

constexpr const char* kLibraryNames[] = {"libcuda.so.1", "libcuda.so"};

DriverError load_error(const std::string& call, CUresult result, const std::string& name, const std::string& detail) {
  return DriverError(call, static_cast<int>(result), name, detail);
}

void* open_library() {
  std::string reasons;
  for (const char* name : kLibraryNames) {
    if (void* handle = dlopen(name, RTLD_NOW | RTLD_LOCAL)) return handle;
    const char* reason = dlerror();
    reasons += std::string(reasons.empty() ? "" : "; ") + (reason != nullptr ? reason : name);
  }
  throw load_error("dlopen libcuda.so.1", CUDA_ERROR_NOT_INITIALIZED, "no driver",
                   "the NVIDIA driver library was not found (" + reasons +
                       "); kernels can still be compiled and cached, but not loaded or launched");
}

// Resolves `symbol` at `version`, the version its PFN_*_vNNNN typedef names, so the pointer has that ABI even
// when a newer one exists (cuCtxGetDevice, cuCtxSynchronize and cuStreamGetCtx changed signature in 12.5/13.0).
template <typename Pfn>
void resolve(PFN_cuGetProcAddress_v12000 get_proc, const char* symbol, int version, Pfn& out) {
  void* pointer = nullptr;
  CUdriverProcAddressQueryResult status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
  CUresult result = get_proc(symbol, &pointer, version, CU_GET_PROC_ADDRESS_DEFAULT, &status);
  if (result != CUDA_SUCCESS || status != CU_GET_PROC_ADDRESS_SUCCESS || pointer == nullptr) {
    std::string why = status == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT
                          ? "the installed driver is older than CUDA " + std::to_string(version / 1000) + "." +
                                std::to_string(version % 1000 / 10) + "; update the NVIDIA driver"
                          : "symbol not found in the installed driver";
    throw load_error(std::string("cuGetProcAddress ") + symbol, result == CUDA_SUCCESS ? CUDA_ERROR_NOT_FOUND : result,
                     "CUDA_ERROR_NOT_FOUND", why);
  }
  out = reinterpret_cast<Pfn>(pointer);
}

#define MARLIN_JIT_RESOLVE(api, get_proc, name, version) resolve(get_proc, #name, version, (api).name)

DriverApi load_driver() {
  void* library = open_library();  // never closed: the driver lives as long as the process
  auto get_proc = reinterpret_cast<PFN_cuGetProcAddress_v12000>(dlsym(library, "cuGetProcAddress_v2"));
  if (get_proc == nullptr) {
    throw load_error("dlsym cuGetProcAddress_v2", CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND",
                     "the installed driver predates CUDA 12.0; update the NVIDIA driver");
  }
  DriverApi api;
  MARLIN_JIT_RESOLVE(api, get_proc, cuInit, 2000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuDriverGetVersion, 2020);
  MARLIN_JIT_RESOLVE(api, get_proc, cuDeviceGet, 2000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuDeviceGetCount, 2000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuDeviceGetName, 2000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuDeviceGetAttribute, 2000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuDeviceTotalMem, 3020);
  MARLIN_JIT_RESOLVE(api, get_proc, cuDevicePrimaryCtxRetain, 7000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuCtxGetCurrent, 4000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuCtxSetCurrent, 4000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuCtxGetDevice, 2000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuCtxSynchronize, 2000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuLibraryLoadData, 12000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuLibraryUnload, 12000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuLibraryGetKernel, 12000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuKernelSetAttribute, 12000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuKernelGetAttribute, 12000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuKernelGetFunction, 12000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuLaunchKernel, 4000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuMemAlloc, 3020);
  MARLIN_JIT_RESOLVE(api, get_proc, cuMemFree, 3020);
  MARLIN_JIT_RESOLVE(api, get_proc, cuMemHostAlloc, 2020);
  MARLIN_JIT_RESOLVE(api, get_proc, cuMemFreeHost, 2000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuMemHostGetDevicePointer, 3020);
  MARLIN_JIT_RESOLVE(api, get_proc, cuMemsetD8Async, 3020);
  MARLIN_JIT_RESOLVE(api, get_proc, cuMemsetD32Async, 3020);
  MARLIN_JIT_RESOLVE(api, get_proc, cuMemcpyHtoDAsync, 3020);
  MARLIN_JIT_RESOLVE(api, get_proc, cuMemcpyDtoHAsync, 3020);
  MARLIN_JIT_RESOLVE(api, get_proc, cuMemcpyDtoDAsync, 3020);
  MARLIN_JIT_RESOLVE(api, get_proc, cuStreamSynchronize, 2000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuStreamIsCapturing, 10000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuStreamGetCtx, 9020);
  MARLIN_JIT_RESOLVE(api, get_proc, cuGetErrorName, 6000);
  MARLIN_JIT_RESOLVE(api, get_proc, cuGetErrorString, 6000);
  CUresult init = api.cuInit(0);
  if (init != CUDA_SUCCESS) {
    const char* name = nullptr;
    const char* text = nullptr;
    api.cuGetErrorName(init, &name);
    api.cuGetErrorString(init, &text);
    throw load_error("cuInit", init, name != nullptr ? name : "unknown CUresult", text != nullptr ? text : "");
  }
  return api;
}

#undef MARLIN_JIT_RESOLVE

struct DriverState {
  std::once_flag once;
  DriverApi api;
  std::exception_ptr failure;
};

DriverState& state() {
  static DriverState instance;
  return instance;
}

const DriverApi* loaded_driver() noexcept {
  auto& s = state();
  std::call_once(s.once, [&s] {
    try {
      s.api = load_driver();
      MARLIN_JIT_LOG_DEBUG("CUDA driver loaded");
    } catch (const DriverError& error) {
      MARLIN_JIT_LOG_DEBUG("CUDA driver unavailable: {}", error.what());
      s.failure = std::current_exception();
    }
  });
  return s.failure ? nullptr : &s.api;
}

}  // namespace

const DriverApi& driver() {
  if (const DriverApi* api = loaded_driver()) return *api;
  std::rethrow_exception(state().failure);
}

bool driver_available() noexcept { return loaded_driver() != nullptr; }

void check_cu(CUresult result, const char* call) {
  if (result == CUDA_SUCCESS) return;
  const char* name = nullptr;
  const char* text = nullptr;
  if (const DriverApi* api = loaded_driver()) {
    api->cuGetErrorName(result, &name);
    api->cuGetErrorString(result, &text);
  }
  throw DriverError(call, static_cast<int>(result), name != nullptr ? name : "CUresult " + std::to_string(result),
                    text != nullptr ? text : "");
}

CUdevice ensure_current_context() {
  const DriverApi& api = driver();
  CUcontext context = nullptr;
  check_cu(api.cuCtxGetCurrent(&context), "cuCtxGetCurrent");
  CUdevice device = 0;
  if (context != nullptr) {
    check_cu(api.cuCtxGetDevice(&device), "cuCtxGetDevice");
    return device;
  }
  // Retain device 0's primary context once per process (never released: it lives as long as the process, as
  // the runtime API's does) and make it current on this thread.
  static std::mutex mutex;
  static std::map<CUdevice, CUcontext> retained;
  check_cu(api.cuDeviceGet(&device, 0), "cuDeviceGet");
  {
    std::lock_guard lock(mutex);
    auto it = retained.find(device);
    if (it == retained.end()) {
      check_cu(api.cuDevicePrimaryCtxRetain(&context, device), "cuDevicePrimaryCtxRetain");
      it = retained.emplace(device, context).first;
    }
    context = it->second;
  }
  check_cu(api.cuCtxSetCurrent(context), "cuCtxSetCurrent");
  return device;
}

}  // namespace marlin_jit::detail
