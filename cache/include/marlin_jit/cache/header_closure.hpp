// The set of template headers a kernel source can include, found by following #include lines from its root
// header through a reader that knows our headers by root-relative path. Only root-relative paths ever appear,
// so the key made from a closure survives moving a checkout. Never throws for missing headers: they are listed.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "marlin_jit/export.h"

MARLIN_JIT_API_BEGIN
namespace marlin_jit::cache {

class KeyBuilder;

// Returns the content of a header by its root-relative path ("marlin_jit/gemm/mainloop.cuh"), or nullopt.
using HeaderReader = std::function<std::optional<std::string>(const std::string& relative_path)>;

struct HeaderClosure {
  // (root-relative path, content), sorted by path, the root header included.
  std::vector<std::pair<std::string, std::string>> headers;
  // Include names the reader does not have ("cuda_fp16.h"), sorted, unique.
  std::vector<std::string> unresolved;
};

// Follows `#include "x"` and `#include <x>` (also `  #  include`), skipping any inside // or /* */ comments.
// "x" resolves against the including file's folder, then against the root; <x> against the root, then the
// including file's folder. `.` and `..` are normalised, so each header appears once; cycles terminate.
// Both branches of #if are followed: a header that can be included is in the closure.
// A missing root header is reported in `unresolved`. An include that leaves the root ("../../x"), an absolute
// one, or a computed one (`#include MACRO`) is listed in `unresolved` as written.
// NOTE: a computed include is not followed; templates must name their includes literally.
HeaderClosure include_closure(const std::string& root_header, const HeaderReader& read);

// Adds the closure to a key: the header count, then each header's path and content, then the unresolved names.
void add_closure_to_key(const HeaderClosure& closure, KeyBuilder& key);

}  // namespace marlin_jit::cache
MARLIN_JIT_API_END
