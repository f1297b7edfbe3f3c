// libFuzzer target for runtime/src/checkpoint/safetensors_header.cpp: any bytes either parse into a header whose
// tensors tile the data section exactly, or are refused with ConfigError. Anything else (another exception, a
// crash, a sanitizer report, a broken invariant) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "checkpoint/safetensors_header.hpp"
#include "marlin_jit/error.hpp"

namespace {

// What a successful parse promises its callers (the checkpoint reader slices the file with these numbers).
void check_invariants(const marlin_jit::checkpoint::SafetensorsHeader& header, std::size_t size) {
  if (header.data_start > size || header.data_start + header.data_size != size) std::abort();
  std::uint64_t cursor = 0;
  for (const auto& tensor : header.tensors) {
    if (tensor.begin != cursor || tensor.end < tensor.begin || tensor.end > header.data_size) std::abort();
    if (tensor.dtype.element_bytes <= 0) std::abort();
    cursor = tensor.end;
  }
  if (cursor != header.data_size) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto header = marlin_jit::checkpoint::parse_safetensors_header(std::span(data, size), "fuzz-input");
    check_invariants(header, size);
  } catch (const marlin_jit::ConfigError&) {
    // refused with a clear error: the expected outcome for malformed input
  }
  return 0;
}
