// Lazily loaded cuBLAS (see cublas_library.hpp): the library, a handle per context, one GemmEx call.
#include "driver/cublas_library.hpp"

#include <dlfcn.h>

#include <map>
#include <mutex>
#include <string>

#include <cublas_api.h>

#include "driver/cuda_driver.hpp"
#include "internal/log.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit::detail {
namespace {

using CreateFn = cublasStatus_t (*)(cublasHandle_t*);
using SetStreamFn = cublasStatus_t (*)(cublasHandle_t, cudaStream_t);
using GemmExFn = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                                    const void*, const void*, cudaDataType, int, const void*, cudaDataType, int,
                                    const void*, void*, cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);

struct CublasLibrary {
  CreateFn create = nullptr;
  SetStreamFn set_stream = nullptr;
  GemmExFn gemm_ex = nullptr;
  std::mutex mutex;  // guards handles and each handle's (set stream, gemm) pair
  std::map<CUcontext, cublasHandle_t> handles;
};

// Loaded once; nullptr when libcublas is absent (logged once at info: the Marlin kernel serves every M then).
CublasLibrary* library() {
  static CublasLibrary* loaded = []() -> CublasLibrary* {
    void* handle = nullptr;
    for (const char* name : {"libcublas.so.13", "libcublas.so.12", "libcublas.so"}) {
      handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (handle != nullptr) break;
    }
    if (handle == nullptr) {
      MARLIN_JIT_LOG_INFO("libcublas not found ({}): large-M layers use the Marlin kernel", dlerror());
      return nullptr;
    }
    auto* lib = new CublasLibrary;  // lives for the process, like the driver table
    lib->create = reinterpret_cast<CreateFn>(dlsym(handle, "cublasCreate_v2"));
    lib->set_stream = reinterpret_cast<SetStreamFn>(dlsym(handle, "cublasSetStream_v2"));
    lib->gemm_ex = reinterpret_cast<GemmExFn>(dlsym(handle, "cublasGemmEx"));
    if (lib->create == nullptr || lib->set_stream == nullptr || lib->gemm_ex == nullptr) {
      MARLIN_JIT_LOG_WARN("libcublas lacks cublasCreate_v2/cublasSetStream_v2/cublasGemmEx: not used");
      delete lib;
      return nullptr;
    }
    return lib;
  }();
  return loaded;
}

void check_cublas(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw DriverError(call, static_cast<int>(status), "cublasStatus " + std::to_string(static_cast<int>(status)),
                      "cuBLAS failed on the dequantize + GEMM path");
  }
}

}  // namespace

bool cublas_available() noexcept {
  try {
    return library() != nullptr;
  } catch (...) {
    return false;
  }
}

void cublas_gemm_nt(DType dtype, std::int64_t m, std::int64_t n, std::int64_t k, CUdeviceptr a, CUdeviceptr w,
                    CUdeviceptr out, float alpha, float beta, CUstream stream) {
  CublasLibrary* lib = library();
  if (lib == nullptr) throw InternalError("cublas_gemm_nt called without libcublas");
  CUcontext context = nullptr;
  check_cu(driver().cuCtxGetCurrent(&context), "cuCtxGetCurrent");
  const cudaDataType type = dtype == DType::bf16 ? CUDA_R_16BF : CUDA_R_16F;
  std::lock_guard<std::mutex> lock(lib->mutex);
  cublasHandle_t& handle = lib->handles[context];
  if (handle == nullptr) check_cublas(lib->create(&handle), "cublasCreate_v2");
  check_cublas(lib->set_stream(handle, reinterpret_cast<cudaStream_t>(stream)), "cublasSetStream_v2");
  // Column-major view: out is [n][m]ᵀ, w is k×n (so op T gives n×k), a is k×m.
  check_cublas(lib->gemm_ex(handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m),
                            static_cast<int>(k), &alpha, reinterpret_cast<const void*>(w), type,
                            static_cast<int>(k), reinterpret_cast<const void*>(a), type, static_cast<int>(k), &beta,
                            reinterpret_cast<void*>(out), type, static_cast<int>(n), CUBLAS_COMPUTE_32F,
                            CUBLAS_GEMM_DEFAULT),
               "cublasGemmEx");
}

}  // namespace marlin_jit::detail
