// Parses and checks a safetensors header against the bytes it describes; every refusal names the file, the tensor
// and the rule. No exception but ConfigError escapes, whatever the bytes.
#include "checkpoint/safetensors_header.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include <nlohmann/json.hpp>

#include "marlin_jit/error.hpp"

namespace marlin_jit::checkpoint {
namespace {

using nlohmann::json;

constexpr std::array<SafetensorsDType, 16> kDTypes = {{{"BOOL", 1},
                                                       {"U8", 1},
                                                       {"I8", 1},
                                                       {"F8_E5M2", 1},
                                                       {"F8_E4M3", 1},
                                                       {"F8_E8M0", 1},
                                                       {"I16", 2},
                                                       {"U16", 2},
                                                       {"F16", 2},
                                                       {"BF16", 2},
                                                       {"I32", 4},
                                                       {"U32", 4},
                                                       {"F32", 4},
                                                       {"F64", 8},
                                                       {"I64", 8},
                                                       {"U64", 8}}};

[[noreturn]] void refuse(const std::string& rule, const std::string& source, const std::string& value,
                         const std::string& allowed, const std::string& what) {
  throw ConfigError(rule, value, allowed, source + ": " + what);
}

std::uint64_t read_le64(std::span<const std::uint8_t> bytes) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[static_cast<std::size_t>(i)];
  return value;
}

std::map<std::string, std::string> parse_metadata(const json& metadata, const std::string& source) {
  if (!metadata.is_object()) {
    refuse("safetensors_header", source, metadata.type_name(), "an object of strings",
           "__metadata__ is a " + std::string(metadata.type_name()) + ", not an object of strings");
  }
  std::map<std::string, std::string> result;
  for (const auto& [key, value] : metadata.items()) {
    if (!value.is_string()) {
      refuse("safetensors_header", source, key, "string values",
             "__metadata__ entry '" + key + "' is a " + value.type_name() + ", not a string");
    }
    result[key] = value.get<std::string>();
  }
  return result;
}

// A non-negative JSON integer no larger than `max`, or a refusal naming the tensor and the field.
std::uint64_t unsigned_field(const json& value, std::uint64_t max, const std::string& source, const std::string& tensor,
                             const char* field) {
  if (!value.is_number_unsigned() || value.get<std::uint64_t>() > max) {
    refuse("safetensors_header", source, tensor + "." + field + "=" + value.dump(), "non-negative integers",
           "tensor '" + tensor + "': " + field + " holds " + value.dump() + ", not a non-negative integer");
  }
  return value.get<std::uint64_t>();
}

const json& required_field(const json& entry, const char* field, const std::string& source,
                           const std::string& tensor) {
  const auto it = entry.find(field);
  if (it == entry.end()) {
    refuse("safetensors_header", source, tensor, "dtype, shape, data_offsets",
           "tensor '" + tensor + "' has no '" + field + "'");
  }
  return *it;
}

// The tensor's byte count from dtype × shape, or nullopt-like max() on overflow.
std::uint64_t expected_bytes(const SafetensorsTensor& tensor) {
  std::uint64_t bytes = static_cast<std::uint64_t>(tensor.dtype.element_bytes);
  for (std::int64_t dim : tensor.shape) {
    const auto extent = static_cast<std::uint64_t>(dim);
    if (extent != 0 && bytes > std::numeric_limits<std::uint64_t>::max() / extent) {
      return std::numeric_limits<std::uint64_t>::max();
    }
    bytes *= extent;
  }
  return bytes;
}

SafetensorsTensor parse_tensor(const std::string& name, const json& entry, std::uint64_t data_size,
                               const std::string& source) {
  if (!entry.is_object()) {
    refuse("safetensors_header", source, name, "an object", "tensor '" + name + "' is not an object");
  }
  SafetensorsTensor tensor;
  tensor.name = name;
  const json& dtype = required_field(entry, "dtype", source, name);
  tensor.dtype = dtype.is_string() ? safetensors_dtype(dtype.get<std::string>()) : SafetensorsDType{};
  if (tensor.dtype.element_bytes == 0) {
    refuse("safetensors_dtype", source, dtype.dump(), "BOOL, U8, I8, F8_*, I16, U16, F16, BF16, I32, U32, F32, ...",
           "tensor '" + name + "' has dtype " + dtype.dump() + ", not a safetensors dtype");
  }
  const json& shape = required_field(entry, "shape", source, name);
  if (!shape.is_array()) {
    refuse("safetensors_header", source, shape.dump(), "an array", "tensor '" + name + "': shape is not an array");
  }
  for (const json& dim : shape) {
    const auto limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    tensor.shape.push_back(static_cast<std::int64_t>(unsigned_field(dim, limit, source, name, "shape")));
  }
  const json& offsets = required_field(entry, "data_offsets", source, name);
  if (!offsets.is_array() || offsets.size() != 2) {
    refuse("safetensors_header", source, offsets.dump(), "[begin, end]",
           "tensor '" + name + "': data_offsets " + offsets.dump() + " is not [begin, end]");
  }
  const auto max = std::numeric_limits<std::uint64_t>::max();
  tensor.begin = unsigned_field(offsets[0], max, source, name, "data_offsets");
  tensor.end = unsigned_field(offsets[1], max, source, name, "data_offsets");
  const std::string range = "[" + std::to_string(tensor.begin) + ", " + std::to_string(tensor.end) + "]";
  if (tensor.begin > tensor.end || tensor.end > data_size) {
    refuse("safetensors_offsets", source, name + " " + range, "begin <= end <= " + std::to_string(data_size),
           "tensor '" + name + "': data_offsets " + range + " lie outside the data section of " +
               std::to_string(data_size) + " bytes");
  }
  const std::uint64_t expected = expected_bytes(tensor);
  if (tensor.end - tensor.begin != expected) {
    refuse("safetensors_offsets", source, name + " " + range, std::to_string(expected) + " bytes",
           "tensor '" + name + "': data_offsets " + range + " span " + std::to_string(tensor.end - tensor.begin) +
               " bytes, but " + std::string(tensor.dtype.name) + " " + shape.dump() + " needs " +
               (expected == max ? std::string("more than 2^64") : std::to_string(expected)));
  }
  return tensor;
}

// The data section must be covered exactly: tensors back to back from 0 to its end, no overlap, no hole.
void check_coverage(const std::vector<SafetensorsTensor>& tensors, std::uint64_t data_size, const std::string& source) {
  std::uint64_t cursor = 0;
  const SafetensorsTensor* previous = nullptr;
  for (const SafetensorsTensor& tensor : tensors) {
    if (tensor.begin < cursor) {
      refuse("safetensors_offsets", source, tensor.name, "non-overlapping tensors",
             "tensor '" + tensor.name + "' (from byte " + std::to_string(tensor.begin) + ") overlaps '" +
                 previous->name + "' (to byte " + std::to_string(cursor) + ")");
    }
    if (tensor.begin > cursor) {
      refuse("safetensors_offsets", source, tensor.name, "no holes in the data section",
             "bytes " + std::to_string(cursor) + " to " + std::to_string(tensor.begin) +
                 " of the data section belong to no tensor (before '" + tensor.name + "')");
    }
    cursor = tensor.end;
    previous = &tensor;
  }
  if (cursor != data_size) {
    refuse("safetensors_offsets", source, std::to_string(data_size - cursor) + " trailing bytes",
           "no holes in the data section",
           "the last " + std::to_string(data_size - cursor) + " bytes of the data section belong to no tensor");
  }
}

}  // namespace

SafetensorsDType safetensors_dtype(std::string_view name) {
  for (const SafetensorsDType& dtype : kDTypes) {
    if (dtype.name == name) return dtype;
  }
  return {};
}

SafetensorsHeader parse_safetensors_header(std::span<const std::uint8_t> file_bytes, const std::string& source) {
  if (file_bytes.size() < 8) {
    refuse("safetensors_header", source, std::to_string(file_bytes.size()) + " bytes", "at least 8 bytes",
           "file is " + std::to_string(file_bytes.size()) + " bytes, too short for the 8-byte header length");
  }
  const std::uint64_t header_bytes = read_le64(file_bytes);
  const std::uint64_t available = file_bytes.size() - 8;
  if (header_bytes > kMaxSafetensorsHeaderBytes || header_bytes > available) {
    refuse("safetensors_header", source, std::to_string(header_bytes),
           "at most " + std::to_string(std::min<std::uint64_t>(available, kMaxSafetensorsHeaderBytes)),
           "header length " + std::to_string(header_bytes) + " runs past the end of the file (" +
               std::to_string(available) + " bytes follow it; cap " + std::to_string(kMaxSafetensorsHeaderBytes) +
               ")");
  }
  const auto* text = reinterpret_cast<const char*>(file_bytes.data() + 8);
  json header;
  try {
    header = json::parse(text, text + header_bytes);
  } catch (const json::exception& error) {
    refuse("safetensors_header", source, "invalid JSON", "a JSON object",
           "header is not valid JSON: " + std::string(error.what()));
  }
  if (!header.is_object()) {
    refuse("safetensors_header", source, header.type_name(), "a JSON object",
           "header is a JSON " + std::string(header.type_name()) + ", not an object");
  }
  SafetensorsHeader result;
  result.data_start = 8 + header_bytes;
  result.data_size = available - header_bytes;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      result.metadata = parse_metadata(value, source);
    } else {
      result.tensors.push_back(parse_tensor(key, value, result.data_size, source));
    }
  }
  std::sort(result.tensors.begin(), result.tensors.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  check_coverage(result.tensors, result.data_size, source);
  return result;
}

}  // namespace marlin_jit::checkpoint
