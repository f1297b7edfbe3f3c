// cuLibraryLoadData / cuLibraryGetKernel / cuKernelGetFunction / cuKernelSetAttribute for the runtime's memory
// layer. Every failure throws DriverError naming the call; a failed load leaves nothing loaded.
#include "driver/module_loader.hpp"

namespace marlin_jit::detail {

LoadedLibrary load_library(const std::vector<char>& cubin, const std::string& lowered_name) {
  const DriverApi& api = driver();
  LoadedLibrary loaded;
  check_cu(api.cuLibraryLoadData(&loaded.library, cubin.data(), nullptr, nullptr, 0, nullptr, nullptr, 0),
           "cuLibraryLoadData");
  CUresult result = api.cuLibraryGetKernel(&loaded.kernel, loaded.library, lowered_name.c_str());
  if (result != CUDA_SUCCESS) {
    api.cuLibraryUnload(loaded.library);
    check_cu(result, "cuLibraryGetKernel");
  }
  return loaded;
}

void prepare_on_device(CUkernel kernel, CUdevice device, unsigned max_dynamic_shared_bytes) {
  const DriverApi& api = driver();
  CUfunction function = nullptr;
  check_cu(api.cuKernelGetFunction(&function, kernel), "cuKernelGetFunction");
  if (max_dynamic_shared_bytes > 0) {
    check_cu(api.cuKernelSetAttribute(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                      static_cast<int>(max_dynamic_shared_bytes), kernel, device),
             "cuKernelSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)");
  }
}

void unload_library(CUlibrary library) noexcept {
  if (library == nullptr || !driver_available()) return;
  driver().cuLibraryUnload(library);  // at process exit the driver may already be shutting down: ignore
}

PFN_cuLaunchKernel_v4000 launch_entry() { return driver().cuLaunchKernel; }

}  // namespace marlin_jit::detail
