// Versions of this library and of the NVRTC it runs with.
#include "marlin_jit/version.hpp"

#include <nvrtc.h>

namespace marlin_jit {

std::string library_version() { return MARLIN_JIT_VERSION; }

std::string nvrtc_version() {
  int major = 0, minor = 0;
  if (nvrtcVersion(&major, &minor) != NVRTC_SUCCESS) return "unknown";
  return std::to_string(major) + "." + std::to_string(minor);
}

}  // namespace marlin_jit
