// Reads and checks ModelOpt's quant config. The group-size rule is the dispatcher's (quant_rules.cpp); the
// quant_algo and field-type checks are the checkpoint's own.
#include "checkpoint/quant_config.hpp"

#include <fnmatch.h>

#include <cstdint>

#include "checkpoint/json_file.hpp"
#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit::checkpoint {
namespace {

using nlohmann::json;

[[noreturn]] void refuse_field(const std::filesystem::path& source, const std::string& field, const json& value,
                               const std::string& allowed) {
  throw ConfigError("checkpoint_quant_config", field + "=" + value.dump(), allowed,
                    source.string() + ": " + field + " is " + value.dump() + ", expected " + allowed);
}

std::vector<std::string> string_list(const json& section, const char* field, const std::filesystem::path& source) {
  std::vector<std::string> values;
  const auto it = section.find(field);
  if (it == section.end() || it->is_null()) return values;
  if (!it->is_array()) refuse_field(source, field, *it, "a list of module names");
  for (const json& entry : *it) {
    if (!entry.is_string()) refuse_field(source, field, *it, "a list of module names");
    values.push_back(entry.get<std::string>());
  }
  return values;
}

std::string string_field(const json& object, const char* field, const std::filesystem::path& source) {
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_string()) refuse_field(source, field, *it, "a string");
  return it->get<std::string>();
}

}  // namespace

Nvfp4QuantConfig parse_quant_section(const json& section, const std::filesystem::path& source) {
  if (!section.is_object()) refuse_field(source, "quantization", section, "an object");
  Nvfp4QuantConfig config;
  config.source = source;
  const auto algo = section.find("quant_algo");
  if (algo == section.end() || !algo->is_string()) {
    refuse_field(source, "quant_algo", algo == section.end() ? json() : *algo, "the string \"NVFP4\"");
  }
  config.quant_algo = algo->get<std::string>();
  if (config.quant_algo != "NVFP4") {
    throw ConfigError("checkpoint_quant_algo", config.quant_algo, "NVFP4",
                      source.string() + ": quant_algo " + config.quant_algo + " is not NVFP4");
  }
  // ModelOpt always writes group_size for NVFP4; when absent it can only mean the format's 16.
  const auto group = section.find("group_size");
  if (group != section.end()) {
    if (!group->is_number_integer()) refuse_field(source, "group_size", *group, "an integer");
    const auto value = group->get<std::int64_t>();
    if (value < INT32_MIN || value > INT32_MAX) refuse_field(source, "group_size", *group, "16");
    config.group_size = static_cast<int>(value);
  }
  try {
    check_quant_group(QuantType::nvfp4, config.group_size);
  } catch (const ConfigError& error) {
    throw ConfigError(error.rule(), error.value(), error.allowed(), source.string() + ": " + error.what());
  }
  config.exclude_modules = string_list(section, "exclude_modules", source);
  for (std::string& name : string_list(section, "ignore", source)) config.exclude_modules.push_back(std::move(name));
  return config;
}

Nvfp4QuantConfig read_quant_config(const std::filesystem::path& folder) {
  const auto hf_quant_config = folder / "hf_quant_config.json";
  const auto model_config = folder / "config.json";
  if (std::filesystem::exists(hf_quant_config)) {
    const json file = read_json_file(hf_quant_config);
    if (!file.is_object()) refuse_field(hf_quant_config, "the file", file, "an object");
    const auto section = file.find("quantization");
    if (section == file.end()) refuse_field(hf_quant_config, "quantization", json(), "an object");
    Nvfp4QuantConfig config = parse_quant_section(*section, hf_quant_config);
    if (const auto producer = file.find("producer"); producer != file.end() && producer->is_object()) {
      config.producer_name = string_field(*producer, "name", hf_quant_config);
      config.producer_version = string_field(*producer, "version", hf_quant_config);
    }
    return config;
  }
  if (std::filesystem::exists(model_config)) {
    const json file = read_json_file(model_config);
    if (file.is_object() && file.contains("quantization_config")) {
      const json& section = file.at("quantization_config");
      if (section.is_object() && section.contains("quant_method") && section.at("quant_method") == "modelopt") {
        Nvfp4QuantConfig config = parse_quant_section(section, model_config);
        config.producer_name = "modelopt";
        return config;
      }
    }
  }
  throw ConfigError("checkpoint_quant_config", folder.string(),
                    "hf_quant_config.json or a modelopt quantization_config",
                    folder.string() + ": no hf_quant_config.json and no config.json quantization_config with "
                                      "quant_method modelopt: not a ModelOpt checkpoint");
}

bool is_excluded(std::string_view module, const std::vector<std::string>& exclude_modules) {
  const std::string name(module);
  for (const std::string& pattern : exclude_modules) {
    if (pattern == name || ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

}  // namespace marlin_jit::checkpoint
