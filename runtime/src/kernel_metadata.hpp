// The metadata a cache entry carries beside its cubin (CacheEntry::metadata_json): the kernel's ptxas figures,
// compile seconds and the template headers its key covers. Written by the runtime that compiled the entry.
// Reading is lenient: a field that is missing or of the wrong type reads as its default, never an error.
#pragma once

#include <string>
#include <vector>

#include "marlin_jit/runtime.hpp"

namespace marlin_jit::detail {

struct KernelMetadata {
  KernelStats stats;
  std::vector<std::string> headers;
  std::string entry_header, name_expression, arch, nvrtc_version;
};

std::string to_json(const KernelMetadata& metadata);
KernelMetadata metadata_from_json(const std::string& text);

}  // namespace marlin_jit::detail
