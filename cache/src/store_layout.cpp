// Paths of entries and lock files under a root, and the scan behind list, verify, prune and the byte total.
// Only canonically named files (<2 hex>/<32 lowercase hex>.mjk) count as entries; anything else is left alone.
#include "store_layout.hpp"

#include <algorithm>
#include <string>

#include "marlin_jit/cache/entry_file.hpp"

namespace marlin_jit::cache::detail {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kEntrySuffix = ".mjk";

bool is_shard_name(const std::string& name) {
  return name.size() == 2 && std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::optional<Digest> entry_key_of(const std::string& shard, const std::string& file_name) {
  if (file_name.size() != 32 + kEntrySuffix.size() || !file_name.ends_with(kEntrySuffix)) return std::nullopt;
  auto key = Digest::from_hex(std::string_view(file_name).substr(0, 32));
  if (!key || key->hex() != file_name.substr(0, 32) || file_name.compare(0, 2, shard) != 0) return std::nullopt;
  return key;
}

}  // namespace

fs::path entry_path(const fs::path& root, const Digest& key) {
  const std::string hex = key.hex();
  return root / hex.substr(0, 2) / (hex + std::string(kEntrySuffix));
}

fs::path lock_folder(const fs::path& root) { return root / "locks"; }

fs::path lock_path(const fs::path& root, const Digest& key) { return lock_folder(root) / (key.hex() + ".lock"); }

StoreScan scan_store(const fs::path& root, std::error_code& error) {
  error.clear();
  StoreScan scan;
  std::error_code walk;
  fs::directory_iterator shards(root, walk);
  if (walk) {
    if (walk != std::errc::no_such_file_or_directory) error = walk;
    return scan;
  }
  // Increment with an error_code throughout: the range-for form throws when a folder changes under it.
  for (; shards != fs::directory_iterator(); shards.increment(walk)) {
    const fs::directory_entry& shard = *shards;
    const std::string shard_name = shard.path().filename().string();
    std::error_code ignored;
    if (is_temp_file_name(shard_name) && shard.is_regular_file(ignored)) {
      // A stats file's temp left in the root by a writer that died: eviction and clear remove it once stale.
      std::error_code gone;
      ScannedFile temp{shard.path(), std::nullopt, shard.file_size(gone), {}};
      if (!gone) temp.modified = shard.last_write_time(gone);
      if (!gone) scan.temps.push_back(std::move(temp));
      continue;
    }
    if (!is_shard_name(shard_name) || !shard.is_directory(ignored)) continue;
    std::error_code shard_walk;
    fs::directory_iterator files(shard.path(), shard_walk);
    for (; !shard_walk && files != fs::directory_iterator(); files.increment(shard_walk)) {
      const fs::directory_entry& file = *files;
      const std::string name = file.path().filename().string();
      auto key = entry_key_of(shard_name, name);
      if (!key && !is_temp_file_name(name)) continue;
      std::error_code gone;
      ScannedFile found{file.path(), key, file.file_size(gone), {}};
      if (!gone) found.modified = file.last_write_time(gone);
      if (gone) continue;  // removed or replaced while we looked
      if (key) {
        scan.entry_bytes += found.bytes;
        scan.entries.push_back(std::move(found));
      } else {
        scan.temps.push_back(std::move(found));
      }
    }
    if (shard_walk && !error) error = shard_walk;
  }
  if (walk && !error) error = walk;
  std::sort(scan.entries.begin(), scan.entries.end(),
            [](const ScannedFile& a, const ScannedFile& b) { return a.path < b.path; });
  return scan;
}

}  // namespace marlin_jit::cache::detail
