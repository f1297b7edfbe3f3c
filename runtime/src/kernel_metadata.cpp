// KernelMetadata <-> JSON through nlohmann-json. A field the reader does not know is ignored; one it misses keeps
// its default, so entries written by an older runtime still load (their cubins are what the key says).
#include "kernel_metadata.hpp"

#include <nlohmann/json.hpp>

namespace marlin_jit::detail {
namespace {

constexpr int kMetadataFormat = 1;

template <typename T>
void read_field(const nlohmann::json& json, const char* name, T& out) {
  auto it = json.find(name);
  if (it == json.end()) return;
  try {
    out = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    // wrong type: keep the default
  }
}

}  // namespace

std::string to_json(const KernelMetadata& metadata) {
  const KernelStats& stats = metadata.stats;
  nlohmann::json json = {
      {"format", kMetadataFormat},
      {"entry_header", metadata.entry_header},
      {"name_expression", metadata.name_expression},
      {"arch", metadata.arch},
      {"nvrtc_version", metadata.nvrtc_version},
      {"compile_seconds", stats.compile_seconds},
      {"registers", stats.registers},
      {"static_shared_bytes", stats.static_shared_bytes},
      {"local_bytes", stats.local_bytes},
      {"spill_bytes", stats.spill_bytes},
      {"cubin_bytes", stats.cubin_bytes},
      {"headers", metadata.headers},
  };
  return json.dump();
}

KernelMetadata metadata_from_json(const std::string& text) {
  KernelMetadata metadata;
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return metadata;
  read_field(json, "entry_header", metadata.entry_header);
  read_field(json, "name_expression", metadata.name_expression);
  read_field(json, "arch", metadata.arch);
  read_field(json, "nvrtc_version", metadata.nvrtc_version);
  read_field(json, "compile_seconds", metadata.stats.compile_seconds);
  read_field(json, "registers", metadata.stats.registers);
  read_field(json, "static_shared_bytes", metadata.stats.static_shared_bytes);
  read_field(json, "local_bytes", metadata.stats.local_bytes);
  read_field(json, "spill_bytes", metadata.stats.spill_bytes);
  read_field(json, "cubin_bytes", metadata.stats.cubin_bytes);
  read_field(json, "headers", metadata.headers);
  return metadata;
}

}  // namespace marlin_jit::detail
