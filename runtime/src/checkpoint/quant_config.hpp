// The checkpoint's quantization section: ModelOpt's hf_quant_config.json ({"producer": ..., "quantization":
// {"quant_algo", "group_size", "exclude_modules"}}), or, in newer exports, the same keys flat under config.json's
// "quantization_config" with "quant_method": "modelopt" (the exclude list may be called "ignore" there).
#pragma once

#include <filesystem>
#include <string_view>

#include <nlohmann/json.hpp>

#include "marlin_jit/checkpoint.hpp"

namespace marlin_jit::checkpoint {

// Reads `folder`'s quant config (hf_quant_config.json first, else config.json). Throws ConfigError: rule
// checkpoint_quant_config (neither file has one, or a field has the wrong type), checkpoint_quant_algo (not NVFP4),
// quant_group_size (the dispatcher's rule), checkpoint_json (bad JSON).
Nvfp4QuantConfig read_quant_config(const std::filesystem::path& folder);

// The quantization section itself (the object holding quant_algo), from `source`.
Nvfp4QuantConfig parse_quant_section(const nlohmann::json& section, const std::filesystem::path& source);

// True when `module` equals an exclude entry or matches it as an fnmatch pattern (as vLLM reads them).
bool is_excluded(std::string_view module, const std::vector<std::string>& exclude_modules);

}  // namespace marlin_jit::checkpoint
