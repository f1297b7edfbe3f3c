// Reads a checkpoint's JSON side files (hf_quant_config.json, config.json, model.safetensors.index.json).
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

namespace marlin_jit::checkpoint {

// The parsed file. Throws ConfigError (rule checkpoint_file when unreadable, checkpoint_json when it does not parse)
// naming the path and the parser's position.
nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace marlin_jit::checkpoint
