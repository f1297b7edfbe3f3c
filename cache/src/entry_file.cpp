// Whole-file reads, atomic publication by temp file + fsync + rename, and guarded removal of damaged files.
// Writers never modify a published file in place, so a file's inode plus the hash of its bytes identifies
// exactly what a reader saw; remove_if_unchanged() relies on that.
#include "marlin_jit/cache/entry_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <utility>

#include <xxhash.h>

namespace marlin_jit::cache {
namespace fs = std::filesystem;
namespace {

std::error_code last_error() { return {errno, std::generic_category()}; }

// Closes on scope exit; close() errors on a read-only descriptor carry no information.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::error_code read_all(int fd, std::vector<char>& out) {
  struct stat info {};
  if (::fstat(fd, &info) == 0 && info.st_size > 0) out.reserve(static_cast<std::size_t>(info.st_size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    if (got == 0) return {};
    out.insert(out.end(), buffer, buffer + got);
  }
}

std::error_code write_all(int fd, std::span<const char> bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t put = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (put < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    done += static_cast<std::size_t>(put);
  }
  return {};
}

FileIdentity identity_of(const struct stat& info, std::span<const char> bytes) {
  FileIdentity id;
  id.device = static_cast<std::uint64_t>(info.st_dev);
  id.inode = static_cast<std::uint64_t>(info.st_ino);
  id.size = static_cast<std::uint64_t>(info.st_size);
  id.content_hash = XXH3_64bits(bytes.data(), bytes.size());
  const auto since_epoch = std::chrono::seconds(info.st_mtim.tv_sec) + std::chrono::nanoseconds(info.st_mtim.tv_nsec);
  id.modified = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch));
  return id;
}

// "<name>.<pid>-<counter>-<noise>.tmp": unique across processes (pid), threads (counter) and pid reuse (noise).
fs::path temp_path_beside(const fs::path& path) {
  static std::atomic<std::uint64_t> counter{0};
  const auto noise = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                     std::hash<std::thread::id>{}(std::this_thread::get_id());
  std::string name = path.filename().string();
  name += "." + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) + "-" +
          std::to_string(noise % 1000000007u) + ".tmp";
  return path.parent_path() / name;
}

void sync_folder(const fs::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);  // best effort: some file systems refuse fsync on folders
  ::close(fd);
}

}  // namespace

FileRead read_whole_file(const fs::path& path) {
  FileRead result;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    result.error = last_error();
    return result;
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) {
    result.error = last_error();
    return result;
  }
  if (!S_ISREG(info.st_mode)) {
    result.error = std::make_error_code(std::errc::invalid_argument);
    return result;
  }
  result.error = read_all(fd.get(), result.bytes);
  result.identity = identity_of(info, result.bytes);
  result.identity.size = result.bytes.size();
  return result;
}

std::error_code write_file_atomically(const fs::path& path, std::span<const char> bytes, bool durable) {
  std::error_code error;
  fs::create_directories(path.parent_path(), error);
  if (error) return error;

  fs::path temp;
  int raw_fd = -1;
  for (int attempt = 0; attempt < 100 && raw_fd < 0; ++attempt) {
    temp = temp_path_beside(path);
    raw_fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (raw_fd < 0 && errno == ENOENT) {
      // An evictor removed the (then empty) shard folder between our create_directories and this open: again.
      fs::create_directories(path.parent_path(), error);
      if (error) return error;
      continue;
    }
    if (raw_fd < 0 && errno != EEXIST) return last_error();
  }
  if (raw_fd < 0) return std::make_error_code(std::errc::file_exists);
  Fd fd(raw_fd);

  error = write_all(fd.get(), bytes);
  if (!error && durable && ::fsync(fd.get()) != 0) error = last_error();
  if (::close(fd.release()) != 0 && !error) error = last_error();  // NFS reports write errors at close
  if (!error && ::rename(temp.c_str(), path.c_str()) != 0) error = last_error();
  if (error) {
    ::unlink(temp.c_str());
    return error;
  }
  if (durable) sync_folder(path.parent_path());
  return {};
}

bool remove_if_unchanged(const fs::path& path, const FileIdentity& seen) {
  // Rename first: from then on nobody else can replace what we inspect, and readers see a plain miss.
  const fs::path aside = temp_path_beside(path);
  if (::rename(path.c_str(), aside.c_str()) != 0) return false;  // already gone, or not ours to remove
  FileRead now = read_whole_file(aside);
  const bool same = !now.error && now.identity.device == seen.device && now.identity.inode == seen.inode &&
                    now.identity.size == seen.size && now.identity.content_hash == seen.content_hash;
  if (same) {
    ::unlink(aside.c_str());
    return true;
  }
  // Someone published a fresh file between our read and our rename: put it back, unless yet another
  // file has taken the name meanwhile (link() never replaces), in which case ours is redundant.
  if (::link(aside.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    ::rename(aside.c_str(), path.c_str());  // file systems without hard links: a last-moment race remains
    return false;
  }
  ::unlink(aside.c_str());
  return false;
}

bool is_temp_file_name(std::string_view file_name) {
  return file_name.size() > 4 && file_name.substr(file_name.size() - 4) == ".tmp";
}

}  // namespace marlin_jit::cache
