// Where things live under a store root, and a scan that lists them. The only file that knows the layout:
// <root>/<first 2 hex>/<key hex>.mjk, temp files beside them, <root>/locks/<key hex>.lock.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <system_error>
#include <vector>

#include "marlin_jit/cache/digest.hpp"

namespace marlin_jit::cache::detail {

std::filesystem::path entry_path(const std::filesystem::path& root, const Digest& key);
std::filesystem::path lock_folder(const std::filesystem::path& root);
std::filesystem::path lock_path(const std::filesystem::path& root, const Digest& key);

struct ScannedFile {
  std::filesystem::path path;
  std::optional<Digest> key;  // set for entries; nullopt for temp files
  std::uint64_t bytes = 0;
  std::filesystem::file_time_type modified;
};

struct StoreScan {
  std::vector<ScannedFile> entries;  // sorted by path
  std::vector<ScannedFile> temps;
  std::uint64_t entry_bytes = 0;
};

// Lists entries and temp files in the shard folders. A missing root is an empty store; a root or shard folder
// that cannot be read sets `error`. Files that vanish during the scan are skipped.
StoreScan scan_store(const std::filesystem::path& root, std::error_code& error);

}  // namespace marlin_jit::cache::detail
