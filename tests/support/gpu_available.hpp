// For GPU tests: why this machine cannot run them (no driver, no device), or nullopt when it can. Use as
//   if (auto why = test::gpu_unavailable_reason()) GTEST_SKIP() << *why;
// so a machine without a GPU reports the tests as skipped, with the reason, never as passed or failed.
#pragma once

#include <optional>
#include <string>

#include "marlin_jit/device.hpp"
#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit::test {

inline std::optional<std::string> gpu_unavailable_reason() {
  if (auto reason = driver_unavailable_reason()) return "no CUDA driver: " + *reason;
  try {
    if (list_devices().empty()) return std::string("no CUDA device visible");
  } catch (const DriverError& error) {
    return std::string("cannot list CUDA devices: ") + error.what();
  }
  return std::nullopt;
}

inline bool gpu_available() { return !gpu_unavailable_reason().has_value(); }

// The first device's SM (e.g. 90), for compiling its exact target; 0 without a GPU.
inline int first_device_sm() {
  if (!gpu_available()) return 0;
  return list_devices().front().sm();
}

}  // namespace marlin_jit::test
