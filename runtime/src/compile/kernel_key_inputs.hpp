// What a kernel's cache key covers, in one place: our key format version, the arch as requested, the name
// expression, the entry header, every header of its include closure (path + content), the canonical NVRTC options
// and NVRTC's identity (version + digests of its libraries). Nothing else: no absolute path, mtime or user.
#pragma once

#include <string>
#include <vector>

#include "nvrtc_identity.hpp"
#include "marlin_jit/cache/header_closure.hpp"
#include "marlin_jit/cache/kernel_key.hpp"

namespace marlin_jit::detail {

// Bump when the runtime changes what a field means (e.g. how the instance source is generated).
inline constexpr std::int64_t kRuntimeKeyVersion = 1;

struct KeyInputs {
  std::string arch;
  std::string name_expression;
  std::string entry_header;
  const cache::HeaderClosure* closure = nullptr;
  std::vector<std::string> options;  // key_options(): no absolute paths
  const NvrtcIdentity* nvrtc = nullptr;
};

// The fields added in a fixed order; finish() is the key, description() the debug dump. Never throws.
cache::KeyBuilder build_key(const KeyInputs& inputs);

}  // namespace marlin_jit::detail
