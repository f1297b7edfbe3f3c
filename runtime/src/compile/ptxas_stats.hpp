// Reads ptxas' verbose report (--ptxas-options=-v, which NVRTC appends to the program log) for one entry point:
// registers, static shared memory, stack frame and spill bytes. Fields ptxas did not report stay 0; never throws.
#pragma once

#include <string_view>

#include "marlin_jit/runtime.hpp"

namespace marlin_jit::detail {

// Fills registers, static_shared_bytes, local_bytes and spill_bytes of the entry named `lowered_name`.
KernelStats parse_ptxas_stats(std::string_view log, std::string_view lowered_name);

}  // namespace marlin_jit::detail
