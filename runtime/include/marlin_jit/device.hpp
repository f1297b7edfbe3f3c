// What the CUDA driver reports, for `marlin-jit info`, tests and embedders: whether a driver is usable, its
// version, and the visible GPUs. Each call may load the driver (once per process); all functions are thread-safe.
// Errors: driver_available/driver_version never throw; list_devices throws DriverError without a driver.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "marlin_jit/export.h"

MARLIN_JIT_API_BEGIN
namespace marlin_jit {

struct DeviceInfo {
  int ordinal = 0;
  std::string name;
  int cc_major = 0;
  int cc_minor = 0;
  std::uint64_t total_bytes = 0;
  int sm() const { return 10 * cc_major + cc_minor; }  // 90 for compute capability 9.0
};

// True when libcuda loads and cuInit succeeds.
bool driver_available() noexcept;

// Why the driver is unusable (the DriverError message), or nullopt when it is usable.
std::optional<std::string> driver_unavailable_reason();

// The driver's CUDA version as cuDriverGetVersion reports it (13000 for 13.0), or nullopt without a driver.
std::optional<int> driver_version() noexcept;

std::vector<DeviceInfo> list_devices();

}  // namespace marlin_jit
MARLIN_JIT_API_END
