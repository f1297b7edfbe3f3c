// The JIT runtime: compiles kernel templates through NVRTC, keys and stores the cubins in the disk cache, keeps
// loaded kernels in memory, and launches them. All member functions are thread-safe. Two Runtimes with different
// cache folders work side by side in one process.
// Errors: CompileError (carries NVRTC's log), DriverError (libcuda missing or a cu* call failed), ConfigError.
// Cache damage is never an error: it is a miss (logged at warn, counted).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <cuda.h>

#include "marlin_jit/export.h"

// The library's private accessor: declared outside the exported region, defined in runtime/src only.
namespace marlin_jit::detail {
struct KernelHandleAccess;
}

MARLIN_JIT_API_BEGIN
namespace marlin_jit {

struct RuntimeOptions {
  // Unset: MARLIN_JIT_CACHE_DIR, else $XDG_CACHE_HOME/marlin-jit, else ~/.cache/marlin-jit.
  std::optional<std::filesystem::path> cache_dir;
  // Unset: MARLIN_JIT_TEMPLATE_DIR if set, else the templates embedded in the library. A directory here holds
  // marlin_jit/... like the source tree's templates/ folder, and is read afresh on every compile decision.
  std::optional<std::filesystem::path> template_dir;
  // Unset: MARLIN_JIT_CACHE_MAX_BYTES, else 2 GiB.
  std::optional<std::uint64_t> cache_max_bytes;
  // Searched after cache_dir, in order, and never written (e.g. a cache prebuilt by `marlin-jit precompile`).
  // Empty: MARLIN_JIT_CACHE_READONLY_DIRS (a ':'-separated list), else none.
  std::vector<std::filesystem::path> read_only_cache_dirs;
};

// What to instantiate: a template header (relative to the template root) and a name expression, for a target.
struct KernelRequest {
  std::string entry_header;     // "marlin_jit/entry/dense_gemm.cuh"
  std::string name_expression;  // "marlin_jit::kernels::dense_gemm<__half, ...>"
  std::string arch;             // "sm_80", "sm_86", "sm_87", "sm_89", "sm_90"
};

enum class KernelOrigin { compiled, disk, memory };
std::string to_string(KernelOrigin);

struct KernelStats {
  double compile_seconds = 0;  // of the compile that produced the cubin (0 if unknown)
  int registers = 0;           // per thread
  int static_shared_bytes = 0;
  int local_bytes = 0;         // stack frame + spills per thread
  int spill_bytes = 0;         // spill stores + loads reported by ptxas
  std::uint64_t cubin_bytes = 0;
};

struct CompiledKernel {
  std::string key_hex;
  std::string lowered_name;
  std::vector<char> cubin;
  KernelStats stats;
  KernelOrigin origin = KernelOrigin::compiled;
  std::vector<std::string> headers;  // template headers the key covers (the include closure)
};

struct LaunchDims {
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  unsigned dynamic_shared_bytes = 0;
};

// A kernel loaded for every device it is used on (cuLibrary: context-independent). Cheap to copy.
class KernelHandle {
 public:
  KernelHandle() = default;
  // Takes no lock, allocates nothing, safe inside CUDA graph capture. `args` as for cuLaunchKernel.
  // The dynamic shared memory limit was raised at load time for the device current at get_kernel.
  void launch(const LaunchDims& dims, CUstream stream, void** args) const;
  const CompiledKernel& compiled() const;
  bool valid() const { return state_ != nullptr; }

 private:
  friend struct detail::KernelHandleAccess;  // the Runtime makes handles (runtime/src/kernel_handle_state.hpp)
  struct State;
  explicit KernelHandle(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  std::shared_ptr<const State> state_;
};

struct CacheStatistics {
  std::uint64_t memory_hits = 0, disk_hits = 0, compiles = 0, damaged_entries = 0;
  std::uint64_t entries = 0, bytes = 0, max_bytes = 0;
  double compile_seconds = 0;
  std::filesystem::path directory;
  bool writable = true;
};

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Compile or find the cubin. Needs no GPU. May compile (seconds); takes a per-key lock shared with other
  // processes, so 8 processes asking for the same missing kernel compile it once.
  // Throws ConfigError (rule "kernel_request") for a malformed request or a missing entry header, before any work.
  CompiledKernel compile(const KernelRequest& request);

  // The cache key (32 hex digits) of a request: reads the template headers, compiles nothing, touches no cache.
  // Throws ConfigError like compile().
  std::string key_hex(const KernelRequest& request) const;

  // The cubin from memory or disk, or nullopt; never compiles, never throws for cache damage.
  std::optional<CompiledKernel> lookup(const KernelRequest& request);

  // compile(), then load for the calling thread's current CUDA device (its primary context if none is current)
  // and raise the kernel's dynamic shared memory limit to `max_dynamic_shared_bytes`. Memory-layer hits after
  // the first call on a device take one shared lock and touch no disk (with an override template folder, the
  // headers are re-read to recompute the key, so an edited header is picked up). Throws DriverError without a
  // driver or device, before compiling. Handles stay valid as long as this Runtime lives.
  KernelHandle get_kernel(const KernelRequest& request, unsigned max_dynamic_shared_bytes = 0);

  // memory_hits, disk_hits, compiles and compile_seconds count this Runtime's calls; damaged_entries is the
  // cache folder's cumulative count; entries and bytes come from a scan of the folder.
  CacheStatistics cache_statistics() const;
  const std::filesystem::path& cache_dir() const;
  // The override template folder in use, or nullopt for the embedded templates.
  const std::optional<std::filesystem::path>& template_dir() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace marlin_jit
MARLIN_JIT_API_END
