// The identity of the NVRTC this process compiles with: its version and the identity of the libnvrtc and
// libnvrtc-builtins files as loaded (located through dladdr, never named by absolute path in a key): their ELF
// build ids and sizes, or an XXH3-128 of their bytes when they have no build id (reading ~110 MB takes ~0.1 s).
// Computed once per process on first use; thread-safe; never throws.
#pragma once

#include <filesystem>
#include <string>

namespace marlin_jit::detail {

struct NvrtcIdentity {
  std::string version;           // "13.0"
  std::string library_digest;    // "build-id <hex> size <n>" or "xxh3 <32 hex>", or "unreadable"
  std::string builtins_digest;   // the same, or "missing"
  std::filesystem::path library_path;   // for logs only
  std::filesystem::path builtins_path;  // for logs only
};

const NvrtcIdentity& nvrtc_identity();

}  // namespace marlin_jit::detail
