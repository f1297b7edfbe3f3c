// Keeps a store under its size cap: least-recently-used entries (oldest mtime; hits refresh it) go first.
// Never removes the entry just published, nor a temp file young enough that a writer may still be filling it.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>

#include "marlin_jit/cache/digest.hpp"
#include "store_layout.hpp"

namespace marlin_jit::cache::detail {

// A temp file older than this was left by a writer that died; younger ones may be in use.
inline constexpr std::chrono::minutes kStaleTempAge{10};

struct EvictionResult {
  std::uint64_t removed_bytes = 0;    // entries and stale temp files
  std::uint64_t removed_entries = 0;
  std::uint64_t remaining_bytes = 0;  // entry bytes left, per the scan
};

// Removes `folder` if it is empty (a shard folder whose last entry went); otherwise, or on any error, nothing. A
// writer that created the folder just before retries its create (write_file_atomically), so none is lost.
void remove_folder_if_empty(const std::filesystem::path& folder);

// Removes entries from `scan` oldest first until at most `target` entry bytes remain, sparing `protect`, and
// removes stale temp files. Files already gone are skipped (another process pruned too).
EvictionResult evict_lru(const std::filesystem::path& root, const StoreScan& scan, std::uint64_t target,
                         const std::optional<Digest>& protect);

}  // namespace marlin_jit::cache::detail
