// A three-level template tree for runtime and compile tests: entry k.cuh includes a/mid.cuh, which includes
// b/deep.cuh (whose body a test may change), plus other/unrelated.cuh that nothing includes. Kernel: t::kern<N>.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "temp_cache_dir.hpp"

namespace marlin_jit::test {

inline constexpr const char* kTreeEntryPath = "marlin_jit/entry/k.cuh";
inline constexpr const char* kTreeMidPath = "marlin_jit/a/mid.cuh";
inline constexpr const char* kTreeDeepPath = "marlin_jit/b/deep.cuh";
inline constexpr const char* kTreeUnrelatedPath = "marlin_jit/other/unrelated.cuh";

inline constexpr const char* kTreeEntry = R"(#pragma once
#include "marlin_jit/a/mid.cuh"
namespace t {
template <int N> __global__ void kern(int* out) { out[threadIdx.x] = mid_value<N>(); }
}
)";
inline constexpr const char* kTreeMid = R"(#pragma once
#include "marlin_jit/b/deep.cuh"
template <int N> __device__ int mid_value() { return deep_value() + N; }
)";
inline constexpr const char* kTreeUnrelated = "#pragma once\n__device__ inline int unrelated() { return 1; }\n";

// deep.cuh with the given function body, e.g. "return 7;".
inline std::string tree_deep_header(const std::string& body) {
  return "#pragma once\n__device__ inline int deep_value() {\n  " + body + "\n}\n";
}

inline void write_tree_deep(const std::filesystem::path& root, int value) {
  write_bytes(root / kTreeDeepPath, tree_deep_header("return " + std::to_string(value) + ";"));
}

// The whole tree under root, deep_value() returning `deep_value`.
inline void write_template_tree(const std::filesystem::path& root, int deep_value = 7) {
  write_bytes(root / kTreeEntryPath, std::string_view(kTreeEntry));
  write_bytes(root / kTreeMidPath, std::string_view(kTreeMid));
  write_bytes(root / kTreeUnrelatedPath, std::string_view(kTreeUnrelated));
  write_tree_deep(root, deep_value);
}

}  // namespace marlin_jit::test
