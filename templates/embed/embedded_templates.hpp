// The template headers compiled into the library (generated at build time from templates/marlin_jit/**.cuh).
// Paths are relative to templates/ ("marlin_jit/gemm/mainloop.cuh"); the table is immutable and thread-safe.
#pragma once

#include <span>
#include <string_view>

namespace marlin_jit::detail {

struct EmbeddedTemplate {
  std::string_view path;
  std::string_view content;
};

std::span<const EmbeddedTemplate> embedded_templates();

}  // namespace marlin_jit::detail
