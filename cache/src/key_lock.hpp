// Per-key mutual exclusion at two levels: an in-process lock per key (flock does not separate threads
// sharing one descriptor) and an flock on a lock file per key, which the kernel releases when its holder dies.
// Waits are bounded; a timeout yields an unlocked guard, never an exception.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>

#include "marlin_jit/cache/digest.hpp"

namespace marlin_jit::cache::detail {

// An exclusive flock on a lock file, held until destruction. Lock files are never truncated or written; a file
// may be unlinked while idle (remove_lock_file_if_idle), so acquire() checks that the file it locked is still
// the one at the path. Locks on separate descriptors conflict even within one process.
// Longer than any single kernel compile takes (≤ ~1 s on one core, bench/NOTES.md), so a warning means trouble.
inline constexpr std::chrono::milliseconds kLockWaitWarningAfter{10000};

class FileLock {
 public:
  FileLock() = default;
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  // Creates the file (and its folder) if needed and waits at most `timeout`. error is timed_out on timeout. A wait
  // longer than min(warn_after, timeout / 2) is logged at warn (and again each further warn_after), naming the lock
  // and the time left: a holder that hangs (one that dies frees its lock) would otherwise stall callers silently.
  static FileLock acquire(const std::filesystem::path& path, std::chrono::milliseconds timeout,
                          std::error_code& error, std::chrono::milliseconds warn_after = kLockWaitWarningAfter);
  bool locked() const { return fd_ >= 0; }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Unlinks a lock file nobody holds; leaves a held one. Returns true if it was removed.
bool remove_lock_file_if_idle(const std::filesystem::path& path);

class KeyLocks {
 public:
  class Guard {
   public:
    Guard(Guard&& other) noexcept;
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    Guard& operator=(Guard&&) = delete;
    ~Guard();
    bool thread_locked() const { return thread_locked_; }
    bool file_locked() const { return file_.locked(); }

   private:
    friend class KeyLocks;
    Guard(KeyLocks* owner, const Digest& key) : owner_(owner), key_(key) {}
    KeyLocks* owner_;
    Digest key_;
    bool thread_locked_ = false;
    FileLock file_;
  };

  // Takes the key's in-process mutex, then (if lock_file is given) its file lock, each within what is left
  // of `timeout`. What could not be taken in time is reported by the guard and in `error`.
  Guard acquire(const Digest& key, const std::optional<std::filesystem::path>& lock_file,
                std::chrono::milliseconds timeout, std::error_code& error);

 private:
  // A hand-made timed lock (a flag and a condition variable under slots_mutex_) rather than std::timed_mutex,
  // whose pthread_mutex_clocklock thread sanitizers do not follow.
  struct Slot {
    bool held = false;
    int users = 0;  // guards and waiters; the slot is erased when the last one leaves
    std::condition_variable released;
  };
  void release(const Digest& key, bool thread_locked);

  std::mutex slots_mutex_;
  std::map<Digest, Slot> slots_;  // nodes are stable, so a Slot& stays valid while users > 0
};

}  // namespace marlin_jit::cache::detail
