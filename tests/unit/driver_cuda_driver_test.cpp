// Tests for runtime/src/driver/: on a machine without libcuda (CI), the driver is reported absent with one clear,
// repeatable DriverError, loading a kernel fails with it, and compiling still works. With a driver, versions and
// devices read.
#include <gtest/gtest.h>

#include "driver/cuda_driver.hpp"
#include "marlin_jit/device.hpp"
#include "marlin_jit/error.hpp"
#include "marlin_jit/runtime.hpp"
#include "temp_cache_dir.hpp"

namespace marlin_jit {
namespace {

TEST(CudaDriver, AvailabilityIsConsistent) {
  EXPECT_EQ(driver_available(), detail::driver_available());
  EXPECT_EQ(driver_available(), !driver_unavailable_reason().has_value());
  EXPECT_EQ(driver_available(), driver_version().has_value());
}

TEST(CudaDriver, WithoutDriverEveryUseFailsTheSameClearWay) {
  if (driver_available()) GTEST_SKIP() << "a CUDA driver is installed";
  std::string reason = *driver_unavailable_reason();
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      detail::driver();
      FAIL();
    } catch (const DriverError& error) {
      EXPECT_EQ(std::string(error.what()), reason);  // the same error every time
      // No libcuda at all (CI): the message says which library; a stub libcuda fails in cuInit instead.
      if (error.call() == "dlopen libcuda.so.1") {
        EXPECT_NE(reason.find("libcuda.so.1"), std::string::npos) << reason;
      } else {
        EXPECT_EQ(error.call(), "cuInit") << reason;
      }
    }
  }
  EXPECT_THROW(list_devices(), DriverError);
  EXPECT_THROW(detail::ensure_current_context(), DriverError);
}

TEST(CudaDriver, WithoutDriverGetKernelThrowsButCompileWorks) {
  if (driver_available()) GTEST_SKIP() << "a CUDA driver is installed";
  test::TempCacheDir dir;
  test::write_bytes(dir / "templates/marlin_jit/entry/one.cuh",
                    std::string_view("#pragma once\nnamespace t { __global__ void one(int* p) { *p = 1; } }\n"));
  RuntimeOptions options;
  options.cache_dir = dir / "cache";
  options.template_dir = dir / "templates";
  Runtime runtime(options);
  KernelRequest request{"marlin_jit/entry/one.cuh", "t::one", "sm_90"};
  EXPECT_THROW(runtime.get_kernel(request), DriverError);
  EXPECT_EQ(runtime.cache_statistics().compiles, 0u);  // refused before compiling
  EXPECT_EQ(runtime.compile(request).origin, KernelOrigin::compiled);
  EXPECT_THROW(KernelHandle().launch(LaunchDims{}, nullptr, nullptr), InternalError);
}

TEST(CudaDriver, WithDriverReportsVersionAndDevices) {
  if (!driver_available()) GTEST_SKIP() << *driver_unavailable_reason();
  EXPECT_GE(*driver_version(), 12000);
  for (const DeviceInfo& device : list_devices()) {
    EXPECT_FALSE(device.name.empty());
    EXPECT_GE(device.cc_major, 3);
    EXPECT_GT(device.total_bytes, 0u);
  }
}

TEST(CudaDriver, CheckCuNamesTheCall) {
  EXPECT_NO_THROW(detail::check_cu(CUDA_SUCCESS, "cuNothing"));
  try {
    detail::check_cu(CUDA_ERROR_INVALID_VALUE, "cuSomething");
    FAIL();
  } catch (const DriverError& error) {
    EXPECT_EQ(error.call(), "cuSomething");
    EXPECT_EQ(error.cu_result(), static_cast<int>(CUDA_ERROR_INVALID_VALUE));
    std::string expected = driver_available() ? "CUDA_ERROR_INVALID_VALUE" : "CUresult 1";
    EXPECT_EQ(error.cu_error_name(), expected);
    EXPECT_NE(std::string(error.what()).find("cuSomething"), std::string::npos);
  }
}

}  // namespace
}  // namespace marlin_jit
