// Public device queries (marlin_jit/device.hpp) over the driver table. Reads only; never creates a context.
// A missing driver is reported (false, nullopt, reason) by all but list_devices, which throws DriverError.
#include "driver/cuda_driver.hpp"
#include "marlin_jit/device.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit {

bool driver_available() noexcept { return detail::driver_available(); }

std::optional<std::string> driver_unavailable_reason() {
  try {
    detail::driver();
    return std::nullopt;
  } catch (const DriverError& error) {
    return std::string(error.what());
  }
}

std::optional<int> driver_version() noexcept {
  if (!detail::driver_available()) return std::nullopt;
  int version = 0;
  if (detail::driver().cuDriverGetVersion(&version) != CUDA_SUCCESS) return std::nullopt;
  return version;
}

std::vector<DeviceInfo> list_devices() {
  const detail::DriverApi& api = detail::driver();
  int count = 0;
  detail::check_cu(api.cuDeviceGetCount(&count), "cuDeviceGetCount");
  std::vector<DeviceInfo> devices;
  for (int ordinal = 0; ordinal < count; ++ordinal) {
    CUdevice device = 0;
    detail::check_cu(api.cuDeviceGet(&device, ordinal), "cuDeviceGet");
    DeviceInfo info;
    info.ordinal = ordinal;
    char name[256] = {};
    detail::check_cu(api.cuDeviceGetName(name, sizeof(name) - 1, device), "cuDeviceGetName");
    info.name = name;
    detail::check_cu(api.cuDeviceGetAttribute(&info.cc_major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device),
                     "cuDeviceGetAttribute");
    detail::check_cu(api.cuDeviceGetAttribute(&info.cc_minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device),
                     "cuDeviceGetAttribute");
    std::size_t bytes = 0;
    detail::check_cu(api.cuDeviceTotalMem(&bytes, device), "cuDeviceTotalMem");
    info.total_bytes = bytes;
    devices.push_back(std::move(info));
  }
  return devices;
}

}  // namespace marlin_jit
