// The on-disk kernel store: one entry file per key, shared by every process that points at the same folder.
// All members are thread-safe. Damage and I/O trouble on the lookup/build path are misses and warnings, never
// errors; only the explicit cache commands (list, verify, prune, clear, total_bytes) throw CacheError.
//
// Layout under root:  <first 2 hex>/<key hex>.mjk   entries (entry_format.hpp)
//                     <first 2 hex>/*.tmp           entries being written (or left by a crashed writer)
//                     locks/<key hex>.lock          per-key flock files;  locks/stats.lock guards stats
//                     stats                         cumulative counters of every process, text
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "marlin_jit/cache/cache_dir.hpp"
#include "marlin_jit/cache/digest.hpp"
#include "marlin_jit/cache/entry_format.hpp"
#include "marlin_jit/export.h"

MARLIN_JIT_API_BEGIN
namespace marlin_jit::cache {

struct StoreOptions {
  std::filesystem::path root;
  std::uint64_t max_bytes = kDefaultMaxBytes;  // 0: no limit
  // Searched after root, in order; never written, touched or cleaned (e.g. a cache prebuilt by `precompile`).
  std::vector<std::filesystem::path> read_only_layers;
  // Longest wait for another thread or process building the same key; after it, build without the lock.
  std::chrono::milliseconds lock_timeout{600000};
};

enum class Origin { disk, compiled };

struct StoreStats {
  std::uint64_t disk_hits = 0, misses = 0, compiles = 0, damaged = 0, evictions = 0, unwritable = 0;
  double compile_seconds = 0;
};

struct EntryInfo {
  Digest key;
  std::filesystem::path path;
  std::uint64_t bytes = 0;
  std::filesystem::file_time_type last_used;
  std::string lowered_name;
  std::string problem;  // empty if OK (verify)
};

class DiskStore {
 public:
  // Creates root if it can; a root that cannot be created or written makes a read-only store (writable()
  // false), which still serves lookups. Never throws for the folder's state.
  explicit DiskStore(StoreOptions options);
  ~DiskStore();  // persists this process's counters (best effort)
  DiskStore(DiskStore&&) noexcept;
  DiskStore& operator=(DiskStore&&) noexcept;

  const std::filesystem::path& root() const;
  bool writable() const;

  // The verified entry for key from root, else from the read-only layers; nullopt for missing or damaged.
  // A damaged root entry is logged at warn, counted and removed (only if it is still the bytes that were read).
  // A hit refreshes the entry's last-used time (its mtime, at most once a minute). Never throws for damage/IO.
  std::optional<CacheEntry> lookup(const Digest& key);

  // Writes the entry atomically, then evicts least-recently-used entries if the store exceeds max_bytes.
  // Returns false when the store is unwritable or the write fails (full disk): one warning per store.
  bool publish(const CacheEntry& entry);

  // The entry for key, from disk, else from build() under the per-key lock (an in-process mutex plus an flock
  // on locks/<key>.lock, waited on at most lock_timeout) after a second look, then published (best effort).
  // Of N threads or processes asking at once, one builds. build() may take seconds; its exceptions propagate
  // and release the lock. The built entry's key is set to `key`. On an unwritable store: builds into memory.
  std::pair<CacheEntry, Origin> get_or_build(const Digest& key, const std::function<CacheEntry()>& build);

  // Counters of every process that used root (persisted in root/stats), plus this process's unsaved ones.
  StoreStats stats() const;

  // Entries in root (not the layers), sorted by path, with their lowered names read from the header.
  std::vector<EntryInfo> list() const;
  // Re-reads every root entry; returns the bad ones (problem says why) after removing them.
  // Throws CacheError if root exists but cannot be read.
  std::vector<EntryInfo> verify();
  // The read-only layers (StoreOptions::read_only_layers), in search order.
  const std::vector<std::filesystem::path>& read_only_layers() const;
  // Entries of read-only layer `layer` (an index into read_only_layers()), as list() gives root's; a missing
  // folder has none. Never writes. Throws CacheError if the folder exists but cannot be read, std::out_of_range
  // for a layer index past the end.
  std::vector<EntryInfo> list_layer(std::size_t layer) const;
  // Re-reads every entry of read-only layer `layer` and returns the bad ones; removes nothing (the layer is
  // read-only by configuration, whatever the file system allows). Throws as list_layer.
  std::vector<EntryInfo> verify_layer(std::size_t layer) const;
  // Evicts least-recently-used entries until root holds at most max_bytes; removes temp files left for more
  // than 10 minutes. Returns the bytes removed. Throws CacheError if root exists but cannot be read.
  std::uint64_t prune(std::uint64_t max_bytes);
  // Removes every entry and idle lock file; keeps the counters. Throws CacheError if anything stays.
  void clear();
  // Bytes in root's entries, by a scan. Throws CacheError if root exists but cannot be read.
  std::uint64_t total_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace marlin_jit::cache
MARLIN_JIT_API_END
