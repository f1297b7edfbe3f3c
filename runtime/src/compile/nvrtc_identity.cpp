// Finds the loaded libnvrtc (dladdr on nvrtcVersion) and its builtins library beside it and identifies each file by
// its ELF build id plus size (a few hundred bytes read), else by an XXH3-128 of all its bytes; once per process.
// A file that cannot be read gives a fixed marker, so the key stays deterministic.
#include "compile/nvrtc_identity.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <nvrtc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL  // header-only: no libxxhash ABI in the library
#endif
#include <xxhash.h>

#include "internal/log.hpp"

namespace marlin_jit::detail {
namespace {

std::string hex128(const XXH128_hash_t& hash) {
  char text[33];
  std::snprintf(text, sizeof(text), "%016llx%016llx", static_cast<unsigned long long>(hash.high64),
                static_cast<unsigned long long>(hash.low64));
  return text;
}

// XXH3-128 of the file's bytes through a read-only mapping; nullopt-like "" if it cannot be read.
std::string digest_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  struct stat info {};
  std::string digest;
  if (::fstat(fd, &info) == 0 && info.st_size > 0) {
    auto size = static_cast<std::size_t>(info.st_size);
    void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data != MAP_FAILED) {
      digest = hex128(XXH3_128bits(data, size));
      ::munmap(data, size);
    }
  }
  ::close(fd);
  return digest;
}

// The NT_GNU_BUILD_ID note of a 64-bit ELF file, as hex; "" when the file has none or is not such a file.
std::string elf_build_id(int fd) {
  Elf64_Ehdr header{};
  if (::pread(fd, &header, sizeof(header), 0) != static_cast<ssize_t>(sizeof(header))) return "";
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_phentsize != sizeof(Elf64_Phdr)) {
    return "";
  }
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment{};
    auto offset = static_cast<off_t>(header.e_phoff + i * sizeof(Elf64_Phdr));
    if (::pread(fd, &segment, sizeof(segment), offset) != static_cast<ssize_t>(sizeof(segment))) return "";
    if (segment.p_type != PT_NOTE || segment.p_filesz == 0 || segment.p_filesz > 65536) continue;
    std::string notes(segment.p_filesz, '\0');
    if (::pread(fd, notes.data(), notes.size(), static_cast<off_t>(segment.p_offset)) !=
        static_cast<ssize_t>(notes.size())) {
      return "";
    }
    std::size_t at = 0;
    auto align4 = [](std::size_t n) { return (n + 3) & ~std::size_t{3}; };
    while (at + sizeof(Elf64_Nhdr) <= notes.size()) {
      Elf64_Nhdr note{};
      std::memcpy(&note, notes.data() + at, sizeof(note));
      std::size_t name_at = at + sizeof(note);
      std::size_t desc_at = name_at + align4(note.n_namesz);
      if (desc_at + note.n_descsz > notes.size()) break;
      if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 && std::memcmp(notes.data() + name_at, "GNU", 4) == 0) {
        std::string hex;
        char byte[3];
        for (std::size_t b = 0; b < note.n_descsz; ++b) {
          std::snprintf(byte, sizeof(byte), "%02x", static_cast<unsigned char>(notes[desc_at + b]));
          hex += byte;
        }
        return hex;
      }
      at = desc_at + align4(note.n_descsz);
    }
  }
  return "";
}

// "build-id <hex> size <bytes>", else "xxh3 <32 hex>" of the whole file; "" if the file cannot be read.
std::string identify_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  struct stat info {};
  std::string identity;
  if (::fstat(fd, &info) == 0) {
    std::string build_id = elf_build_id(fd);
    if (!build_id.empty()) identity = "build-id " + build_id + " size " + std::to_string(info.st_size);
  }
  ::close(fd);
  if (identity.empty()) {
    std::string digest = digest_file(path);
    if (!digest.empty()) identity = "xxh3 " + digest;
  }
  return identity;
}

std::filesystem::path loaded_library_path() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&nvrtcVersion), &info) == 0 || info.dli_fname == nullptr) return {};
  return info.dli_fname;
}

NvrtcIdentity compute_identity() {
  auto start = std::chrono::steady_clock::now();
  NvrtcIdentity identity;
  int major = 0, minor = 0;
  nvrtcVersion(&major, &minor);
  identity.version = std::to_string(major) + "." + std::to_string(minor);
  identity.library_path = loaded_library_path();
  identity.library_digest = identify_file(identity.library_path);
  if (identity.library_digest.empty()) identity.library_digest = "unreadable";
  // libnvrtc.so.13 loads libnvrtc-builtins.so.13.0 from its own folder (the .alt variant pairs with .alt).
  bool alt = identity.library_path.filename().string().find(".alt.") != std::string::npos;
  identity.builtins_path = identity.library_path.parent_path() /
                           ("libnvrtc-builtins" + std::string(alt ? ".alt" : "") + ".so." + identity.version);
  identity.builtins_digest = identify_file(identity.builtins_path);
  if (identity.builtins_digest.empty()) identity.builtins_digest = "missing";
  [[maybe_unused]] double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MARLIN_JIT_LOG_DEBUG("NVRTC {} at {} ({}), builtins {} ({}), identified in {:.3f} s", identity.version,
                       identity.library_path.string(), identity.library_digest, identity.builtins_path.string(),
                       identity.builtins_digest, seconds);
  return identity;
}

}  // namespace

const NvrtcIdentity& nvrtc_identity() {
  static const NvrtcIdentity identity = compute_identity();
  return identity;
}

}  // namespace marlin_jit::detail
