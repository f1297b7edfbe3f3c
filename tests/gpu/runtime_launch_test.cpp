// GPU tests of the runtime's load and launch path (runtime.cpp, driver/): a saxpy template compiled from a temp
// override folder for the device's own SM, loaded with get_kernel, launched on a stream and checked against the
// CPU; the same launch captured in a CUDA graph and replayed; memory-layer hits. Skips cleanly without a GPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <cmath>
#include <vector>

#include "compile/kernel_catalog.hpp"
#include "gpu_available.hpp"
#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/kernel_spec.hpp"
#include "marlin_jit/runtime.hpp"
#include "temp_cache_dir.hpp"

namespace marlin_jit {
namespace {

constexpr const char* kSaxpy = R"(#pragma once
namespace t {
template <typename T>
__global__ void saxpy(T a, const T* x, T* y, int n) {
  extern __shared__ unsigned char scratch[];
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
  if (threadIdx.x == 0) scratch[0] = 1;
}
}
)";

#define CUDART_CHECK(call)                                                          \
  do {                                                                              \
    cudaError_t status_ = (call);                                                   \
    ASSERT_EQ(status_, cudaSuccess) << #call << ": " << cudaGetErrorString(status_); \
  } while (0)

class RuntimeLaunchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = test::gpu_unavailable_reason()) GTEST_SKIP() << *why;
    sm_ = test::first_device_sm();
    test::write_bytes(dir_ / "templates/marlin_jit/entry/saxpy.cuh", std::string_view(kSaxpy));
    options_.cache_dir = dir_ / "cache";
    options_.template_dir = dir_ / "templates";
    request_ = {"marlin_jit/entry/saxpy.cuh", "t::saxpy<float>", "sm_" + std::to_string(sm_)};
    CUDART_CHECK(cudaSetDevice(0));
    CUDART_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CUDART_CHECK(cudaMalloc(&x_, kN * sizeof(float)));
    CUDART_CHECK(cudaMalloc(&y_, kN * sizeof(float)));
    for (int i = 0; i < kN; ++i) {
      host_x_[i] = 0.5f * static_cast<float>(i % 97);
      host_y_[i] = 1.0f - 0.25f * static_cast<float>(i % 13);
    }
    reset_y();
    CUDART_CHECK(cudaMemcpy(x_, host_x_.data(), kN * sizeof(float), cudaMemcpyHostToDevice));
  }
  void TearDown() override {
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
    if (x_ != nullptr) cudaFree(x_);
    if (y_ != nullptr) cudaFree(y_);
  }
  void reset_y() { ASSERT_EQ(cudaMemcpy(y_, host_y_.data(), kN * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess); }

  void launch(const KernelHandle& kernel, float a) {
    int n = kN;
    void* args[] = {&a, &x_, &y_, &n};
    LaunchDims dims;
    dims.grid[0] = (kN + 255) / 256;
    dims.block[0] = 256;
    dims.dynamic_shared_bytes = kDynamicShared;
    kernel.launch(dims, reinterpret_cast<CUstream>(stream_), args);
  }

  // y after `times` saxpy steps with `a`, from the initial y.
  void expect_result(float a, int times) {
    std::vector<float> result(kN);
    ASSERT_EQ(cudaMemcpy(result.data(), y_, kN * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
    for (int i = 0; i < kN; ++i) {
      float expected = host_y_[i];
      for (int t = 0; t < times; ++t) expected = a * host_x_[i] + expected;
      ASSERT_NEAR(result[i], expected, 1e-4f * (1.0f + std::fabs(expected))) << "at " << i;
    }
  }

  static constexpr int kN = 10000;
  static constexpr unsigned kDynamicShared = 64 * 1024;  // above the 48 KiB default: needs the attribute
  test::TempCacheDir dir_;
  RuntimeOptions options_;
  KernelRequest request_;
  int sm_ = 0;
  cudaStream_t stream_ = nullptr;
  float* x_ = nullptr;
  float* y_ = nullptr;
  std::vector<float> host_x_ = std::vector<float>(kN), host_y_ = std::vector<float>(kN);
};

TEST_F(RuntimeLaunchTest, LaunchesOnAStreamAndMatchesTheCpu) {
  Runtime runtime(options_);
  KernelHandle kernel = runtime.get_kernel(request_, kDynamicShared);
  ASSERT_TRUE(kernel.valid());
  EXPECT_EQ(kernel.compiled().origin, KernelOrigin::compiled);
  launch(kernel, 2.0f);
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  expect_result(2.0f, 1);
}

TEST_F(RuntimeLaunchTest, GraphCaptureReplaysTheLaunch) {
  Runtime runtime(options_);
  KernelHandle kernel = runtime.get_kernel(request_, kDynamicShared);
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  CUDART_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  launch(kernel, 3.0f);
  CUDART_CHECK(cudaStreamEndCapture(stream_, &graph));
  CUDART_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  expect_result(3.0f, 0);  // capture did not run it
  CUDART_CHECK(cudaGraphLaunch(exec, stream_));
  CUDART_CHECK(cudaGraphLaunch(exec, stream_));
  CUDART_CHECK(cudaStreamSynchronize(stream_));
  expect_result(3.0f, 2);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
}

TEST_F(RuntimeLaunchTest, SecondRuntimeLoadsFromDiskAndRepeatsHitMemory) {
  { Runtime(options_).compile(request_); }
  Runtime runtime(options_);
  auto start = std::chrono::steady_clock::now();
  KernelHandle first = runtime.get_kernel(request_, kDynamicShared);
  double disk_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(first.compiled().origin, KernelOrigin::disk);
  constexpr int kRepeats = 10000;
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRepeats; ++i) runtime.get_kernel(request_, kDynamicShared);
  double hit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / kRepeats;
  std::cout << "[ measure  ] warm (disk) get_kernel " << disk_seconds * 1e3 << " ms; memory hit " << hit_seconds * 1e6
            << " us (override folder: re-keys each call)\n";
  launch(first, 1.5f);
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  expect_result(1.5f, 1);
  CacheStatistics stats = runtime.cache_statistics();
  EXPECT_EQ(stats.compiles, 0u);
  EXPECT_EQ(stats.disk_hits, 1u);
  EXPECT_GE(stats.memory_hits, static_cast<std::uint64_t>(kRepeats));
}

TEST_F(RuntimeLaunchTest, EmbeddedKernelRepeatIsASharedLockHit) {
  if (!is_supported_sm(sm_)) GTEST_SKIP() << "sm_" << sm_ << " has no catalog kernels";
  RuntimeOptions embedded;
  embedded.cache_dir = options_.cache_dir;
  if (std::getenv("MARLIN_JIT_TEMPLATE_DIR") != nullptr) GTEST_SKIP() << "MARLIN_JIT_TEMPLATE_DIR is set";
  Runtime runtime(embedded);
  KernelRequest scales = request_for(parse_kernel_spec("prep/nvfp4/scales/sm_" + std::to_string(sm_)));
  auto start = std::chrono::steady_clock::now();
  KernelHandle first = runtime.get_kernel(scales);
  double cold = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  { Runtime other(embedded); }
  Runtime warm(embedded);
  start = std::chrono::steady_clock::now();
  KernelHandle from_disk = warm.get_kernel(scales);
  double disk = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(from_disk.compiled().origin, KernelOrigin::disk);
  constexpr int kRepeats = 100000;
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRepeats; ++i) {
    KernelHandle again = warm.get_kernel(scales);
    ASSERT_TRUE(again.valid());
  }
  double hit = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / kRepeats;
  std::cout << "[ measure  ] prep/nvfp4/scales: cold get_kernel " << cold * 1e3 << " ms, warm (disk) "
            << disk * 1e3 << " ms, memory hit " << hit * 1e9 << " ns\n";
  EXPECT_LT(hit, 20e-6);
  EXPECT_GE(warm.cache_statistics().memory_hits, static_cast<std::uint64_t>(kRepeats));
}

TEST_F(RuntimeLaunchTest, TooMuchDynamicSharedMemoryIsADriverError) {
  Runtime runtime(options_);
  EXPECT_THROW(runtime.get_kernel(request_, 1u << 30), DriverError);
}

}  // namespace
}  // namespace marlin_jit
