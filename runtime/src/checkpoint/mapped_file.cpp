// mmap of a checkpoint file: read-only and private, so a file changed on disk while mapped cannot reach us
// through our own writes. An empty file maps to an empty span (mmap refuses length 0).
#include "checkpoint/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "marlin_jit/error.hpp"

namespace marlin_jit::checkpoint {
namespace {

[[noreturn]] void refuse(const std::filesystem::path& path, const char* step, int error_number) {
  throw ConfigError("checkpoint_file", path.string(), "a readable regular file",
                    path.string() + ": " + step + " failed: " + std::strerror(error_number));
}

// Closes the descriptor on every path out of the constructor; the mapping outlives it.
struct FileDescriptor {
  int fd = -1;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

MappedFile::MappedFile(const std::filesystem::path& path) : path_(path) {
  FileDescriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) refuse(path, "open", errno);
  struct stat status {};
  if (::fstat(file.fd, &status) != 0) refuse(path, "fstat", errno);
  if (!S_ISREG(status.st_mode)) refuse(path, "open as a regular file", EINVAL);
  size_ = static_cast<std::size_t>(status.st_size);
  if (size_ == 0) return;
  void* mapped = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, file.fd, 0);
  if (mapped == MAP_FAILED) refuse(path, "mmap", errno);
  data_ = static_cast<const std::uint8_t*>(mapped);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

}  // namespace marlin_jit::checkpoint
