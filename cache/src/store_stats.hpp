// The store's counters shared by every process using one root: a small text file, <root>/stats, rewritten
// atomically under locks/stats.lock. A missing or garbled file reads as zeros; counters are advisory.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>

#include "marlin_jit/cache/disk_store.hpp"

namespace marlin_jit::cache::detail {

struct PersistedStats {
  StoreStats counters;
  std::optional<std::uint64_t> bytes;  // running total of entry bytes; nullopt until first counted by a scan
};

// Counters of this process not yet written to the file, and the entry bytes it added or removed.
struct PendingStats {
  StoreStats counters;
  std::int64_t bytes_delta = 0;
  int events = 0;
};

void add_counters(StoreStats& into, const StoreStats& delta);

class StatsFile {
 public:
  explicit StatsFile(std::filesystem::path root);

  PersistedStats read() const;

  // Reads, applies `change` and writes the counters back, all while holding locks/stats.lock (waited on at most
  // `timeout`), so concurrent updates from other processes are never lost. `change` may also work on the store
  // (eviction runs here so that the byte total and the files agree). False if the lock or the write failed.
  bool update(std::chrono::milliseconds timeout, const std::function<void(PersistedStats&)>& change);

 private:
  std::filesystem::path path_, lock_path_;
};

}  // namespace marlin_jit::cache::detail
