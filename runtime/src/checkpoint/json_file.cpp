// JSON side files of a checkpoint: read whole, parsed with nlohmann-json, refused with the parser's message.
#include "checkpoint/json_file.hpp"

#include <fstream>
#include <sstream>

#include "marlin_jit/error.hpp"

namespace marlin_jit::checkpoint {

nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) {
    throw ConfigError("checkpoint_file", path.string(), "a readable file", path.string() + ": cannot be opened");
  }
  std::ostringstream text;
  text << stream.rdbuf();
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& error) {
    throw ConfigError("checkpoint_json", path.string(), "valid JSON",
                      path.string() + ": not valid JSON: " + error.what());
  }
}

}  // namespace marlin_jit::checkpoint
