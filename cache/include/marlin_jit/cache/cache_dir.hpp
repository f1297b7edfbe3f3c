// Where the cache lives, which read-only layers sit behind it and how big it may grow when the caller does not say:
// read from the environment.
// Never throws: a malformed MARLIN_JIT_CACHE_MAX_BYTES is logged at warn and the default used.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "marlin_jit/export.h"

MARLIN_JIT_API_BEGIN
namespace marlin_jit::cache {

inline constexpr std::uint64_t kDefaultMaxBytes = 2ull << 30;

// MARLIN_JIT_CACHE_DIR, else $XDG_CACHE_HOME/marlin-jit (if absolute), else $HOME/.cache/marlin-jit,
// else <temp dir>/marlin-jit-<uid>. Empty variables count as unset.
std::filesystem::path default_cache_dir();

// MARLIN_JIT_CACHE_MAX_BYTES: a byte count with an optional binary suffix (K, M, G, T; "KiB"/"KB" also read
// as 1024), e.g. "512M" or "2G". 0 means no limit. Unset: kDefaultMaxBytes.
std::uint64_t default_max_bytes();

// MARLIN_JIT_CACHE_READONLY_DIRS: read-only prebuilt layers searched after the writable folder, in order, as a
// ':'-separated path list (PATH's convention; empty items are skipped). Unset: none.
std::vector<std::filesystem::path> default_read_only_cache_dirs();

}  // namespace marlin_jit::cache
MARLIN_JIT_API_END
