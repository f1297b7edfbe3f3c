// Finds the loaded libnvrtc (dladdr on nvrtcVersion) and its builtins library beside it, and digests both files'
// bytes, once per process. A file that cannot be read gives a fixed marker, so the key stays deterministic.
#include "compile/nvrtc_identity.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <nvrtc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#define XXH_INLINE_ALL
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
  identity.library_digest = digest_file(identity.library_path);
  if (identity.library_digest.empty()) identity.library_digest = "unreadable";
  // libnvrtc.so.13 loads libnvrtc-builtins.so.13.0 from its own folder (the .alt variant pairs with .alt).
  bool alt = identity.library_path.filename().string().find(".alt.") != std::string::npos;
  identity.builtins_path = identity.library_path.parent_path() /
                           ("libnvrtc-builtins" + std::string(alt ? ".alt" : "") + ".so." + identity.version);
  identity.builtins_digest = digest_file(identity.builtins_path);
  if (identity.builtins_digest.empty()) identity.builtins_digest = "missing";
  [[maybe_unused]] double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MARLIN_JIT_LOG_DEBUG("NVRTC {} at {} ({}), builtins {} ({}), digested in {:.3f} s", identity.version,
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
