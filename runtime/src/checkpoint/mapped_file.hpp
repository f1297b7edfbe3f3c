// A file mapped read-only into memory (mmap), unmapped on destruction: the checkpoint's tensors are views into it,
// so nothing is copied until upload. Movable, not copyable.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

namespace marlin_jit::checkpoint {

class MappedFile {
 public:
  // Throws ConfigError (rule checkpoint_file) naming the path and the OS error when it cannot be opened or mapped.
  explicit MappedFile(const std::filesystem::path& path);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::uint8_t> bytes() const { return {data_, size_}; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace marlin_jit::checkpoint
