// The on-disk kernel store: one entry file per key under <root>/<first 2 hex>/<key>.mjk, written to a temp file
// and renamed into place, so readers never lock and never see half an entry. A damaged, foreign-version or
// unreadable entry is a miss (logged, counted, removed if still the bytes read), never an error.
#include "marlin_jit/cache/disk_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>

#include "eviction.hpp"
#include "internal/log.hpp"
#include "key_lock.hpp"
#include "marlin_jit/cache/entry_file.hpp"
#include "marlin_jit/error.hpp"
#include "store_layout.hpp"
#include "store_stats.hpp"

namespace marlin_jit::cache {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kTouchInterval = std::chrono::seconds(60);      // refresh a hit's mtime at most this often
constexpr double kAutoPruneFraction = 0.9;                      // after a publish, prune to 90% of the cap
constexpr int kFlushAfterEvents = 32;                           // save counters after this many lookups ...
constexpr auto kFlushAfter = std::chrono::seconds(10);          // ... or this long since the last save
constexpr std::chrono::milliseconds kStatsLockTimeout{2000};    // counters: give up (keep them) after this
constexpr std::chrono::milliseconds kCommandLockTimeout{30000}; // prune/clear wait for a concurrent pruner

bool means_unwritable(const std::error_code& error) {
  return error == std::errc::permission_denied || error == std::errc::operation_not_permitted ||
         error == std::errc::read_only_file_system;
}

[[noreturn]] void throw_unreadable(const fs::path& root, const std::error_code& error) {
  throw CacheError("cannot read cache folder " + root.string() + ": " + error.message());
}

// The header and lowered name of an entry file, without reading its payload.
std::string read_lowered_name(const fs::path& path, std::string& problem) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> head(kEntryHeaderBytes);
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  auto header = peek_entry_header(head, &problem);
  if (!header) return {};
  std::string name(static_cast<std::size_t>(std::min<std::uint64_t>(header->lowered_len, 1 << 16)), '\0');
  in.read(name.data(), static_cast<std::streamsize>(name.size()));
  name.resize(static_cast<std::size_t>(in.gcount()));
  return name;
}

}  // namespace

struct DiskStore::Impl {
  StoreOptions options;
  std::atomic<bool> writable{false};
  std::atomic<bool> warned_unwritable{false};
  detail::KeyLocks locks;
  detail::StatsFile stats_file;

  mutable std::mutex mutex;  // guards the members below
  detail::PendingStats pending;
  Clock::time_point last_flush = Clock::now();
  std::set<fs::path> reported_layer_damage;

  explicit Impl(StoreOptions store_options) : options(std::move(store_options)), stats_file(options.root) {
    if (options.root.empty()) return;
    std::error_code error;
    fs::create_directories(options.root, error);
    if (error || !fs::is_directory(options.root, error) || ::access(options.root.c_str(), W_OK | X_OK) != 0) return;
    writable = true;
    fs::create_directories(detail::lock_folder(options.root), error);  // if this fails: no cross-process locks
  }

  template <typename Change>
  void record(Change&& change) {
    std::lock_guard<std::mutex> lock(mutex);
    change(pending);
    ++pending.events;
  }

  void warn_unwritable_once(const std::string& reason) {
    record([](detail::PendingStats& p) { ++p.counters.unwritable; });
    if (!warned_unwritable.exchange(true)) {
      MARLIN_JIT_LOG_WARN("cache folder {} cannot be written ({}): kernels are compiled into memory and not kept "
                          "(shown once)", options.root.string(), reason);
    }
  }

  // The verified entry from root, else from the layers. Damage is warned about, counted, and (in root) removed.
  std::optional<CacheEntry> find(const Digest& key) {
    for (std::size_t place = 0; place <= options.read_only_layers.size(); ++place) {
      const fs::path& base = place == 0 ? options.root : options.read_only_layers[place - 1];
      if (base.empty()) continue;
      const fs::path path = detail::entry_path(base, key);
      FileRead file = read_whole_file(path);
      if (file.error == std::errc::no_such_file_or_directory || file.error == std::errc::not_a_directory) continue;
      std::string why;
      std::optional<CacheEntry> entry;
      if (file.error) why = "unreadable: " + file.error.message();
      else entry = decode_entry(file.bytes, key, &why);
      if (entry) {
        if (place == 0) touch_if_stale(path, file.identity.modified);
        return entry;
      }
      report_damage(place == 0, path, file, why);
    }
    return std::nullopt;
  }

  void report_damage(bool own, const fs::path& path, const FileRead& file, const std::string& why) {
    if (!own) {
      std::lock_guard<std::mutex> lock(mutex);
      ++pending.counters.damaged;
      if (!reported_layer_damage.insert(path).second) return;
      MARLIN_JIT_LOG_WARN("cache entry {} in a read-only layer is damaged ({}): ignored", path.string(), why);
      return;
    }
    const bool removed = !file.error && writable && remove_if_unchanged(path, file.identity);
    record([&](detail::PendingStats& p) {
      ++p.counters.damaged;
      if (removed) p.bytes_delta -= static_cast<std::int64_t>(file.identity.size);
    });
    MARLIN_JIT_LOG_WARN("cache entry {} is damaged ({}): {}", path.string(), why,
                        removed ? "removed; treated as a miss" : "treated as a miss");
  }

  // LRU: the mtime is the last use. Refreshed at most once a minute, so hot entries cost no writes.
  void touch_if_stale(const fs::path& path, std::chrono::system_clock::time_point modified) {
    if (!writable || std::chrono::system_clock::now() - modified < kTouchInterval) return;
    ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);  // best effort; a failure only ages the entry
  }

  bool write_entry(const CacheEntry& entry) {
    if (!writable) {
      warn_unwritable_once("not writable");
      return false;
    }
    const std::vector<char> bytes = encode_entry(entry);
    const fs::path path = detail::entry_path(options.root, entry.key);
    std::error_code ignored;
    const std::uintmax_t replaced = fs::file_size(path, ignored);
    const std::error_code error = write_file_atomically(path, bytes, true);
    if (error) {
      if (means_unwritable(error)) writable = false;  // a full disk may drain; a read-only one will not
      warn_unwritable_once(error.message());
      return false;
    }
    record([&](detail::PendingStats& p) {
      p.bytes_delta += static_cast<std::int64_t>(bytes.size());
      if (!ignored) p.bytes_delta -= static_cast<std::int64_t>(replaced);
    });
    return true;
  }

  // Saves this process's counters into root/stats and, if the shared byte total is over the cap, evicts down to
  // kAutoPruneFraction of it, sparing `protect`. Runs under the stats lock, so no publish is counted twice or
  // lost against an eviction. Counters that could not be saved stay pending.
  void flush(const std::optional<Digest>& protect) {
    detail::PendingStats snapshot;
    {
      std::lock_guard<std::mutex> lock(mutex);
      snapshot = std::exchange(pending, {});
      last_flush = Clock::now();
    }
    const bool saved = writable && stats_file.update(kStatsLockTimeout, [&](detail::PersistedStats& stats) {
      detail::add_counters(stats.counters, snapshot.counters);
      std::error_code error;
      if (!stats.bytes) {
        auto scan = detail::scan_store(options.root, error);
        if (!error) stats.bytes = scan.entry_bytes;
      } else {
        const auto delta = snapshot.bytes_delta;
        const auto magnitude = static_cast<std::uint64_t>(delta < 0 ? -delta : delta);
        stats.bytes = delta >= 0 ? *stats.bytes + magnitude : *stats.bytes - std::min(*stats.bytes, magnitude);
      }
      const std::uint64_t cap = options.max_bytes;
      const auto target = static_cast<std::uint64_t>(static_cast<double>(cap) * kAutoPruneFraction);
      if (cap == 0 || !stats.bytes || *stats.bytes <= target) return;
      // Near the cap, the running total is checked against the folder: a publish that replaces an entry another
      // thread or process is evicting at that moment counts bytes that are gone (or misses ones that landed), and
      // that drift once let the folder stay over its cap with the total saying under (DiskStore test, 41772 bytes
      // over a 40960-byte cap after six threads raced).
      auto scan = detail::scan_store(options.root, error);
      if (error) return;
      stats.bytes = scan.entry_bytes;
      if (scan.entry_bytes <= cap) return;
      const auto result = detail::evict_lru(options.root, scan, target, protect);
      stats.counters.evictions += result.removed_entries;
      stats.bytes = result.remaining_bytes;
    });
    if (!saved) {
      std::lock_guard<std::mutex> lock(mutex);
      detail::add_counters(pending.counters, snapshot.counters);
      pending.bytes_delta += snapshot.bytes_delta;
    }
  }

  void flush_if_due() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (pending.events < kFlushAfterEvents && Clock::now() - last_flush < kFlushAfter) return;
    }
    flush(std::nullopt);
  }

  detail::StoreScan scan_or_throw() const {
    std::error_code error;
    auto scan = detail::scan_store(options.root, error);
    if (error) throw_unreadable(options.root, error);
    return scan;
  }
};

DiskStore::DiskStore(StoreOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

DiskStore::~DiskStore() {
  if (!impl_) return;
  try {
    impl_->flush(std::nullopt);
  } catch (...) {  // counters are advisory; a destructor must not throw
  }
}

DiskStore::DiskStore(DiskStore&&) noexcept = default;
DiskStore& DiskStore::operator=(DiskStore&&) noexcept = default;

const fs::path& DiskStore::root() const { return impl_->options.root; }

bool DiskStore::writable() const { return impl_->writable; }

std::optional<CacheEntry> DiskStore::lookup(const Digest& key) {
  auto entry = impl_->find(key);
  impl_->record([&](detail::PendingStats& p) { ++(entry ? p.counters.disk_hits : p.counters.misses); });
  impl_->flush_if_due();
  return entry;
}

bool DiskStore::publish(const CacheEntry& entry) {
  const bool written = impl_->write_entry(entry);
  if (written) impl_->flush(entry.key);
  return written;
}

std::pair<CacheEntry, Origin> DiskStore::get_or_build(const Digest& key, const std::function<CacheEntry()>& build) {
  Impl& store = *impl_;
  auto hit = [&](CacheEntry entry) {
    store.record([](detail::PendingStats& p) { ++p.counters.disk_hits; });
    store.flush_if_due();
    return std::pair<CacheEntry, Origin>(std::move(entry), Origin::disk);
  };
  if (auto entry = store.find(key)) return hit(std::move(*entry));

  std::optional<CacheEntry> built;
  {
    std::optional<fs::path> lock_file;
    if (store.writable) lock_file = detail::lock_path(store.options.root, key);
    std::error_code error;
    auto guard = store.locks.acquire(key, lock_file, store.options.lock_timeout, error);
    if (error == std::errc::timed_out) {
      MARLIN_JIT_LOG_WARN("waited {} ms for another builder of cache key {}: building without the lock",
                          store.options.lock_timeout.count(), key.hex());
    } else if (error) {
      MARLIN_JIT_LOG_DEBUG("no file lock for cache key {} ({}): building with the in-process lock only", key.hex(),
                           error.message());
    }
    // Whoever held the lock before us may have published it meanwhile.
    if (auto entry = store.find(key)) return hit(std::move(*entry));
    store.record([](detail::PendingStats& p) { ++p.counters.misses; });

    const auto start = Clock::now();
    built = build();
    const std::chrono::duration<double> seconds = Clock::now() - start;
    built->key = key;
    store.record([&](detail::PendingStats& p) {
      ++p.counters.compiles;
      p.counters.compile_seconds += seconds.count();
    });
    store.write_entry(*built);  // before unlocking, so the next waiter finds it
  }
  store.flush(key);  // after unlocking: eviction must not hold up the waiters
  return {std::move(*built), Origin::compiled};
}

StoreStats DiskStore::stats() const {
  StoreStats total = impl_->stats_file.read().counters;
  std::lock_guard<std::mutex> lock(impl_->mutex);
  detail::add_counters(total, impl_->pending.counters);
  return total;
}

namespace {

detail::StoreScan scan_folder_or_throw(const fs::path& folder) {
  std::error_code error;
  auto scan = detail::scan_store(folder, error);
  if (error) throw_unreadable(folder, error);
  return scan;
}

std::vector<EntryInfo> list_entries(const detail::StoreScan& scan) {
  std::vector<EntryInfo> infos;
  for (const auto& file : scan.entries) {
    EntryInfo info{*file.key, file.path, file.bytes, file.modified, {}, {}};
    info.lowered_name = read_lowered_name(file.path, info.problem);
    infos.push_back(std::move(info));
  }
  return infos;
}

// Re-reads every entry of `scan`; calls on_bad(info, file) for each damaged one.
template <class OnBad>
void check_entries(const detail::StoreScan& scan, OnBad&& on_bad) {
  for (const auto& scanned : scan.entries) {
    FileRead file = read_whole_file(scanned.path);
    if (file.error == std::errc::no_such_file_or_directory) continue;  // removed since the scan
    EntryInfo info{*scanned.key, scanned.path, scanned.bytes, scanned.modified, {}, {}};
    std::optional<CacheEntry> entry;
    if (file.error) info.problem = "unreadable: " + file.error.message();
    else entry = decode_entry(file.bytes, *scanned.key, &info.problem);
    if (entry) continue;
    std::string ignored;
    if (peek_entry_header(file.bytes, &ignored)) info.lowered_name = read_lowered_name(scanned.path, ignored);
    on_bad(std::move(info), file);
  }
}

}  // namespace

std::vector<EntryInfo> DiskStore::list() const { return list_entries(impl_->scan_or_throw()); }

std::vector<EntryInfo> DiskStore::verify() {
  Impl& store = *impl_;
  std::vector<EntryInfo> bad;
  check_entries(store.scan_or_throw(), [&](EntryInfo info, const FileRead& file) {
    store.report_damage(true, info.path, file, info.problem);
    bad.push_back(std::move(info));
  });
  store.flush(std::nullopt);
  return bad;
}

const std::vector<fs::path>& DiskStore::read_only_layers() const { return impl_->options.read_only_layers; }

std::vector<EntryInfo> DiskStore::list_layer(std::size_t layer) const {
  return list_entries(scan_folder_or_throw(impl_->options.read_only_layers.at(layer)));
}

std::vector<EntryInfo> DiskStore::verify_layer(std::size_t layer) const {
  std::vector<EntryInfo> bad;
  check_entries(scan_folder_or_throw(impl_->options.read_only_layers.at(layer)),
                [&](EntryInfo info, const FileRead&) { bad.push_back(std::move(info)); });
  return bad;
}

std::uint64_t DiskStore::prune(std::uint64_t max_bytes) {
  Impl& store = *impl_;
  std::optional<detail::EvictionResult> result;
  auto evict = [&] { result = detail::evict_lru(store.options.root, store.scan_or_throw(), max_bytes, std::nullopt); };
  if (store.writable) {
    store.stats_file.update(kCommandLockTimeout, [&](detail::PersistedStats& stats) {
      evict();
      stats.counters.evictions += result->removed_entries;
      stats.bytes = result->remaining_bytes;
    });
  }
  if (!result) {  // unwritable, or the stats lock stayed busy: prune anyway, count locally
    evict();
    store.record([&](detail::PendingStats& p) { p.counters.evictions += result->removed_entries; });
  }
  return result->removed_bytes;
}

void DiskStore::clear() {
  Impl& store = *impl_;
  const fs::path& root = store.options.root;
  if (!store.writable) throw CacheError("cannot clear cache folder " + root.string() + ": not writable");
  std::size_t failures = 0;
  std::error_code first_failure;
  bool ran = false;
  auto remove_all_entries = [&] {
    ran = true;
    const auto scan = store.scan_or_throw();
    for (const auto& file : scan.entries) {
      std::error_code error;
      fs::remove(file.path, error);
      if (error && ++failures == 1) first_failure = error;
      if (!error) detail::remove_folder_if_empty(file.path.parent_path());
    }
    // Spare young temp files: their writers are about to rename them into place.
    detail::evict_lru(root, detail::StoreScan{{}, scan.temps, 0}, 0, std::nullopt);
    std::error_code walk;
    for (fs::directory_iterator it(detail::lock_folder(root), walk); !walk && it != fs::directory_iterator();
         it.increment(walk)) {
      const std::string name = it->path().filename().string();
      if (name.size() == 37 && name.ends_with(".lock") && Digest::from_hex(name.substr(0, 32))) {
        detail::remove_lock_file_if_idle(it->path());
      }
    }
  };
  store.stats_file.update(kCommandLockTimeout, [&](detail::PersistedStats& stats) {
    remove_all_entries();
    stats.bytes.reset();  // recounted by the next publish's scan
  });
  if (!ran) remove_all_entries();  // the stats lock stayed busy
  if (failures > 0) {
    throw CacheError("could not remove " + std::to_string(failures) + " entries from " + root.string() + ": " +
                     first_failure.message());
  }
}

std::uint64_t DiskStore::total_bytes() const { return impl_->scan_or_throw().entry_bytes; }

}  // namespace marlin_jit::cache
