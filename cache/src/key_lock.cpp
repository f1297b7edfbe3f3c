// The per-key lock of the disk store: an in-process lock plus flock on <root>/locks/<key>.lock, both waited on
// up to one deadline (flock polled with a growing back-off: Linux has no timed flock). A holder killed by
// SIGKILL releases its flock with its descriptors, so no lock ever outlives its process.
#include "key_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>
#include <utility>

#include "internal/log.hpp"

namespace marlin_jit::cache::detail {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

FileLock::FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

namespace {

bool same_file(int fd, const fs::path& path) {
  struct stat held {}, named {};
  if (::fstat(fd, &held) != 0 || ::stat(path.c_str(), &named) != 0) return false;
  return held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

}  // namespace

FileLock FileLock::acquire(const fs::path& path, std::chrono::milliseconds timeout, std::error_code& error,
                           std::chrono::milliseconds warn_after) {
  error.clear();
  const auto started = Clock::now();
  const auto deadline = started + timeout;
  auto next_warning = started + std::min(warn_after, timeout / 2);  // short timeouts warn before giving up
  auto pause = std::chrono::microseconds(500);
  for (;;) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0 && errno == ENOENT) {  // the locks folder was removed under us (rm -rf of the cache): recreate it
      std::error_code ignored;
      fs::create_directories(path.parent_path(), ignored);
      fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    }
    if (fd < 0) {
      error = {errno, std::generic_category()};
      return {};
    }
    for (;;) {
      if (::flock(fd, LOCK_EX | LOCK_NB) == 0) break;
      if (errno == EINTR) continue;
      if (errno != EWOULDBLOCK) {
        error = {errno, std::generic_category()};
        ::close(fd);
        return {};
      }
      if (Clock::now() >= deadline) {
        error = std::make_error_code(std::errc::timed_out);
        ::close(fd);
        return {};
      }
      if (Clock::now() >= next_warning) {
        const auto waited = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started);
        const auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now());
        MARLIN_JIT_LOG_WARN("waiting {} s for {}: another thread or process holds it (compiling the same kernel?); "
                            "giving up in {} s and compiling without it", waited.count(), path.string(), left.count());
        next_warning += warn_after;
      }
      std::this_thread::sleep_for(pause);
      pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(50));
    }
    // A cleaner may have unlinked the file between our open and our flock: then we hold a lock on a file
    // nobody else will see, so start over on the file now at the path.
    if (same_file(fd, path)) return FileLock(fd);
    ::close(fd);
  }
}

bool remove_lock_file_if_idle(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  bool removed = false;
  // Holding the lock while unlinking: anyone who opened the old file before the unlink will, once they get
  // the lock, see it is no longer the file at the path and retry on a fresh one.
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0 && same_file(fd, path)) removed = ::unlink(path.c_str()) == 0;
  ::close(fd);
  return removed;
}

KeyLocks::Guard::Guard(Guard&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      key_(other.key_),
      thread_locked_(other.thread_locked_),
      file_(std::move(other.file_)) {}

KeyLocks::Guard::~Guard() {
  file_ = FileLock();  // the file lock goes first, so the next process can start while threads hand over
  if (owner_) owner_->release(key_, thread_locked_);
}

KeyLocks::Guard KeyLocks::acquire(const Digest& key, const std::optional<fs::path>& lock_file,
                                  std::chrono::milliseconds timeout, std::error_code& error) {
  error.clear();
  const auto deadline = Clock::now() + timeout;
  bool locked;
  {
    std::unique_lock<std::mutex> lock(slots_mutex_);
    Slot& slot = slots_[key];
    ++slot.users;
    locked = slot.released.wait_until(lock, deadline, [&slot] { return !slot.held; });
    if (locked) slot.held = true;
  }
  Guard guard(this, key);  // from here on, the guard's destructor gives back what was taken above
  guard.thread_locked_ = locked;
  if (!locked) {
    error = std::make_error_code(std::errc::timed_out);
    return guard;
  }
  if (lock_file) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    guard.file_ = FileLock::acquire(*lock_file, std::max(left, std::chrono::milliseconds(0)), error);
  }
  return guard;
}

void KeyLocks::release(const Digest& key, bool thread_locked) {
  std::lock_guard<std::mutex> lock(slots_mutex_);
  auto it = slots_.find(key);
  if (thread_locked) {
    it->second.held = false;
    it->second.released.notify_all();
  }
  if (--it->second.users == 0) slots_.erase(it);
}

}  // namespace marlin_jit::cache::detail
