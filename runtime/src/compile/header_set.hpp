// The template headers a runtime compiles from: the set embedded in the library, or an override folder read from
// disk on every call (the kernel developer's edit-and-rerun loop). Headers are named by template-relative path
// ("marlin_jit/gemm/mainloop.cuh"), which is how NVRTC sees them and how the key names them. Thread-safe.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "marlin_jit/cache/header_closure.hpp"

namespace marlin_jit::detail {

class HeaderSet {
 public:
  // `override_dir`, else MARLIN_JIT_TEMPLATE_DIR if set and non-empty, else the embedded templates.
  // The folder holds marlin_jit/... like the source tree's templates/ folder; it is not checked here.
  static HeaderSet resolve(const std::optional<std::filesystem::path>& override_dir);

  // The header's content, or nullopt if this set has no such file. Paths that are absolute or climb out of the
  // root ("../x") are never read.
  std::optional<std::string> read(const std::string& relative_path) const;
  cache::HeaderReader reader() const;

  // Every header reachable from `entry_header` (entry included), read once, so the key and NVRTC see the same
  // bytes. NOTE: NVRTC finds in-memory headers by the exact name an #include writes, so templates must include
  // ours by template-relative path ("marlin_jit/common/numeric.cuh"), never relative to the including file.
  cache::HeaderClosure closure(const std::string& entry_header) const;

  bool embedded() const { return !directory_.has_value(); }
  const std::optional<std::filesystem::path>& directory() const { return directory_; }

 private:
  std::optional<std::filesystem::path> directory_;
};

// The CUDA toolkit's include folder for <cuda_fp16.h> and friends: <loaded libnvrtc's folder>/../include,
// $CUDA_HOME/include, $CUDA_PATH/include, the build's toolkit (MARLIN_JIT_CUDA_INCLUDE_DIR), /usr/local/cuda/include;
// the first holding cuda_fp16.h. Found once per process. Passed to NVRTC as -I; never enters a key.
// NOTE: toolkit headers are keyed only through NVRTC's identity, so they must come from NVRTC's own toolkit.
const std::filesystem::path& toolkit_include_dir();

}  // namespace marlin_jit::detail
