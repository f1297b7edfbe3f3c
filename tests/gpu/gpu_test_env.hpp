// What every GPU test (and bench/) stands on: whether a usable device is present and if not why (the reason
// GTEST_SKIP shows), RAII device buffers, streams, cuBLAS handles, a temporary cache folder, counting enqueued work,
// and reading what a call threw.
// Failed cudart/cuBLAS calls throw std::runtime_error naming the call; destructors ignore errors (process teardown).
#pragma once

#include <cublas_v2.h>
#include <cuda.h>
#include <cuda_runtime_api.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "marlin_jit/error.hpp"

namespace marlin_jit::test {

inline void cuda_check(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + call +
                             " failed: " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
  }
}
inline void cublas_check(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + call + " failed: cublasStatus " +
                             std::to_string(static_cast<int>(status)));
  }
}
#define MARLIN_JIT_CUDA(call) ::marlin_jit::test::cuda_check((call), #call, __FILE__, __LINE__)
#define MARLIN_JIT_CUBLAS(call) ::marlin_jit::test::cublas_check((call), #call, __FILE__, __LINE__)

// ---- is there a device, and may NVFP4 Marlin run on it

struct GpuInfo {
  bool present = false;
  std::string reason;  // why not, when !present
  int device = 0;
  int sm = 0;  // 10·major + minor
  std::string name;
  std::size_t total_memory = 0;
};

// Probed once per process through cudart: cudaGetDeviceCount, then device 0, which is made current (its primary
// context is the one the library's driver calls find).
inline const GpuInfo& gpu_info() {
  static const GpuInfo info = [] {
    GpuInfo probe;
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
      probe.reason =
          std::string("no usable CUDA driver or device: cudaGetDeviceCount returned ") + cudaGetErrorName(status);
      cudaGetLastError();
      return probe;
    }
    if (count == 0) {
      probe.reason = "no CUDA device (cudaGetDeviceCount reported 0)";
      return probe;
    }
    cudaDeviceProp properties{};
    if (cudaSetDevice(0) != cudaSuccess || cudaGetDeviceProperties(&properties, 0) != cudaSuccess) {
      probe.reason = "CUDA device 0 could not be opened";
      cudaGetLastError();
      return probe;
    }
    probe.present = true;
    probe.sm = properties.major * 10 + properties.minor;
    probe.name = properties.name;
    probe.total_memory = properties.totalGlobalMem;
    return probe;
  }();
  return info;
}

// Why the NVFP4 Marlin kernels cannot be exercised here (no device, or one outside 8.0 ≤ cc < 10.0), or nothing.
inline std::optional<std::string> marlin_gpu_missing_reason() {
  const GpuInfo& info = gpu_info();
  if (!info.present) return info.reason;
  if (info.sm < 80 || info.sm >= 100) {
    return info.name + " is sm_" + std::to_string(info.sm) + ", outside the Marlin range sm_80..sm_9x";
  }
  return std::nullopt;
}

// For SetUp() or a test body: skips the test, with the reason, unless a Marlin-capable device is present. Needs
// gtest.h, which every test includes first; the rest of this header does not, so bench/ can use it too.
#define MARLIN_JIT_SKIP_WITHOUT_MARLIN_GPU()                                                 \
  do {                                                                                       \
    if (const auto marlin_jit_skip_reason = ::marlin_jit::test::marlin_gpu_missing_reason()) \
      GTEST_SKIP() << *marlin_jit_skip_reason;                                               \
  } while (0)

// ---- resources

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
    if (bytes > 0) MARLIN_JIT_CUDA(cudaMalloc(&ptr_, bytes));
  }
  template <class T>
  static DeviceBuffer from_host(const std::vector<T>& host) {
    DeviceBuffer buffer(host.size() * sizeof(T));
    if (!host.empty()) MARLIN_JIT_CUDA(cudaMemcpy(buffer.ptr_, host.data(), buffer.bytes_, cudaMemcpyHostToDevice));
    return buffer;
  }
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : ptr_(std::exchange(other.ptr_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      reset();
      ptr_ = std::exchange(other.ptr_, nullptr);
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { reset(); }

  void reset() {
    if (ptr_ != nullptr) cudaFree(ptr_);  // an error here (teardown) has nowhere useful to go
    ptr_ = nullptr;
    bytes_ = 0;
  }
  void* get() const { return ptr_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  CUdeviceptr address() const { return reinterpret_cast<CUdeviceptr>(ptr_); }
  std::size_t bytes() const { return bytes_; }

  // Every byte set to `value`, ordered on `stream`.
  void fill_bytes(int value, cudaStream_t stream) { MARLIN_JIT_CUDA(cudaMemsetAsync(ptr_, value, bytes_, stream)); }

  // The first `count` elements (all of them by default), after waiting for the device.
  template <class T>
  std::vector<T> to_host(std::size_t count = static_cast<std::size_t>(-1)) const {
    if (count == static_cast<std::size_t>(-1)) count = bytes_ / sizeof(T);
    std::vector<T> host(count);
    if (count > 0) MARLIN_JIT_CUDA(cudaMemcpy(host.data(), ptr_, count * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

class CudaStream {
 public:
  CudaStream() { MARLIN_JIT_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~CudaStream() { cudaStreamDestroy(stream_); }
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;
  cudaStream_t get() const { return stream_; }  // the same type as CUstream
  void synchronize() const { MARLIN_JIT_CUDA(cudaStreamSynchronize(stream_)); }

 private:
  cudaStream_t stream_ = nullptr;
};

class CublasHandle {
 public:
  explicit CublasHandle(cudaStream_t stream) {
    MARLIN_JIT_CUBLAS(cublasCreate(&handle_));
    MARLIN_JIT_CUBLAS(cublasSetStream(handle_, stream));
  }
  ~CublasHandle() { cublasDestroy(handle_); }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t get() const { return handle_; }

 private:
  cublasHandle_t handle_ = nullptr;
};

// A fresh, empty folder under the system temp folder, removed with everything in it on destruction.
class TempCacheDir {
 public:
  explicit TempCacheDir(const std::string& prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "_XXXXXX")).string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  ~TempCacheDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempCacheDir(const TempCacheDir&) = delete;
  TempCacheDir& operator=(const TempCacheDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// ---- what a call enqueues

struct CaptureOutcome {
  std::size_t nodes = 0;                 // kernels, copies and memsets the call put on the stream
  std::exception_ptr error;              // what the call threw, if anything
  cudaError_t end_status = cudaSuccess;  // cudaStreamEndCapture's answer (invalidated if the call synchronized)
};

// Runs fn while `stream` is captured (relaxed mode, so allocation and module loads stay legal) and counts the
// graph nodes it enqueued. Captured work never runs: a bad argument that slips through cannot fault the context.
template <class Fn>
CaptureOutcome capture_enqueued_work(cudaStream_t stream, Fn&& fn) {
  CaptureOutcome outcome;
  MARLIN_JIT_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed));
  try {
    fn();
  } catch (...) {
    outcome.error = std::current_exception();
  }
  cudaGraph_t graph = nullptr;
  outcome.end_status = cudaStreamEndCapture(stream, &graph);
  if (graph != nullptr) {
    cudaGraphGetNodes(graph, nullptr, &outcome.nodes);
    cudaGraphDestroy(graph);
  }
  cudaGetLastError();  // an invalidated capture must not leak into the next check
  return outcome;
}

// The kernel cache the GPU tests share: $MARLIN_JIT_TEST_CACHE_DIR, else one per-user folder under the system temp
// folder, kept, never the user's cache. ctest runs each case in a process of its own; a fresh folder per process would
// recompile every kernel for every case. An unusable folder is the runtime's to report (a logged, skipped cache).
inline std::filesystem::path test_cache_dir() {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("marlin_jit_gpu_tests_" + std::to_string(getuid()));
  if (const char* chosen = std::getenv("MARLIN_JIT_TEST_CACHE_DIR"); chosen != nullptr && *chosen != '\0') dir = chosen;
  std::error_code ignored;
  std::filesystem::create_directories(dir, ignored);
  return dir;
}

// ---- what a call threw

// The message of whatever `error` holds, for failure messages.
inline std::string describe(const std::exception_ptr& error) {
  if (!error) return "nothing thrown";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "a non-std exception";
  }
}

// The ConfigError inside `error`, if that is what it holds.
inline std::optional<ConfigError> config_error(const std::exception_ptr& error) {
  if (!error) return std::nullopt;
  try {
    std::rethrow_exception(error);
  } catch (const ConfigError& e) {
    return e;
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace marlin_jit::test
