// The identity of the NVRTC this process compiles with: its version and an XXH3-128 digest of the bytes of
// libnvrtc and libnvrtc-builtins as loaded (located through dladdr, never named by absolute path in a key).
// Computed once per process on first use (~0.1 s: it reads ~110 MB); thread-safe; never throws.
#pragma once

#include <filesystem>
#include <string>

namespace marlin_jit::detail {

struct NvrtcIdentity {
  std::string version;           // "13.0"
  std::string library_digest;    // 32 hex digits, or "unreadable"
  std::string builtins_digest;   // 32 hex digits, or "missing"
  std::filesystem::path library_path;   // for logs only
  std::filesystem::path builtins_path;  // for logs only
};

const NvrtcIdentity& nvrtc_identity();

}  // namespace marlin_jit::detail
