// The safetensors container format, parsed from bytes: an 8-byte little-endian header length, a JSON header
// (`__metadata__` plus, per tensor, `dtype`, `shape` and `data_offsets` relative to the data section), then the data.
// Pure function over a byte span (no files, no allocation beyond the result), so it can be fuzzed.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace marlin_jit::checkpoint {

// A dtype of the safetensors spec (the whole-byte ones; sub-byte dtypes are refused as unknown).
struct SafetensorsDType {
  std::string_view name;  // "U8", "F8_E4M3", "F32", "BF16", ...
  int element_bytes = 0;
};

struct SafetensorsTensor {
  std::string name;
  SafetensorsDType dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  // byte offsets into the data section, end exclusive
  std::uint64_t end = 0;
};

struct SafetensorsHeader {
  std::map<std::string, std::string> metadata;  // `__metadata__` (string to string), empty if absent
  std::vector<SafetensorsTensor> tensors;       // in data order (sorted by begin)
  std::uint64_t data_start = 0;                 // file offset of the data section: 8 + header length
  std::uint64_t data_size = 0;
};

// The largest header accepted, as the reference implementation caps it (100 MB): a length above it is refused
// before anything is read.
inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

// Parses and checks a whole file's bytes. Refuses with ConfigError naming `source` (the file) and, where one is
// at fault, the tensor: rule safetensors_header (too short, length past the end or over the cap, bad JSON, not an
// object, malformed entry), safetensors_dtype (unknown dtype), safetensors_offsets (offsets past the data, a size
// that is not dtype × shape, overlapping tensors, holes in the data section).
SafetensorsHeader parse_safetensors_header(std::span<const std::uint8_t> file_bytes, const std::string& source);

// The dtype named `name`, or one with element_bytes 0 when the spec has no such whole-byte dtype.
SafetensorsDType safetensors_dtype(std::string_view name);

}  // namespace marlin_jit::checkpoint
