// Least-recently-used eviction over one scan of the store, run by the disk store while it holds the stats
// lock (so the shared byte total matches the files). Removal failures are skipped, never thrown.
#include "eviction.hpp"

#include <algorithm>
#include <vector>

#include "internal/log.hpp"
#include "key_lock.hpp"

namespace marlin_jit::cache::detail {
namespace fs = std::filesystem;

void remove_folder_if_empty(const fs::path& folder) {
  std::error_code ignored;
  fs::remove(folder, ignored);  // removes only an empty folder; a writer's create-and-open retries if it loses
}

EvictionResult evict_lru(const fs::path& root, const StoreScan& scan, std::uint64_t target,
                         const std::optional<Digest>& protect) {
  EvictionResult result;
  const auto now = fs::file_time_type::clock::now();
  for (const ScannedFile& temp : scan.temps) {
    std::error_code error;
    if (now - temp.modified > kStaleTempAge && fs::remove(temp.path, error)) result.removed_bytes += temp.bytes;
  }

  std::vector<const ScannedFile*> by_age;
  by_age.reserve(scan.entries.size());
  for (const ScannedFile& entry : scan.entries) by_age.push_back(&entry);
  std::stable_sort(by_age.begin(), by_age.end(),
                   [](const ScannedFile* a, const ScannedFile* b) { return a->modified < b->modified; });

  std::uint64_t total = scan.entry_bytes;
  for (const ScannedFile* entry : by_age) {
    if (total <= target) break;
    if (protect && entry->key == protect) continue;
    std::error_code error;
    if (fs::remove(entry->path, error)) {
      result.removed_bytes += entry->bytes;
      ++result.removed_entries;
      total -= entry->bytes;
      remove_lock_file_if_idle(lock_path(root, *entry->key));
      remove_folder_if_empty(entry->path.parent_path());
    } else if (!error) {
      total -= entry->bytes;  // already removed by a concurrent pruner
    }
  }
  result.remaining_bytes = total;
  if (result.removed_entries > 0) {
    MARLIN_JIT_LOG_INFO("cache {}: evicted {} entries ({} bytes) to stay under {} bytes", root.string(),
                        result.removed_entries, result.removed_bytes, target);
  }
  return result;
}

}  // namespace marlin_jit::cache::detail
