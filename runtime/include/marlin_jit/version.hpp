// Library and toolkit versions, for `marlin-jit info` and bug reports. Needs no GPU.
#pragma once

#include <string>

#include "marlin_jit/export.h"

MARLIN_JIT_API_BEGIN
namespace marlin_jit {

std::string library_version();  // "0.2.0"
std::string nvrtc_version();    // "13.0", from the NVRTC library actually loaded

}  // namespace marlin_jit
MARLIN_JIT_API_END
