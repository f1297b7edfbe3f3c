// Reads model.safetensors.index.json (Hugging Face's sharding index) or lists the folder's safetensors files.
// File names from the index must be plain names: an index cannot point outside the checkpoint folder.
#include "checkpoint/shard_index.hpp"

#include <algorithm>
#include <set>

#include "checkpoint/json_file.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit::checkpoint {
namespace {

constexpr const char* kIndexName = "model.safetensors.index.json";

[[noreturn]] void refuse_index(const std::filesystem::path& index, const std::string& value, const std::string& what) {
  throw ConfigError("checkpoint_index", value, "weight_map of tensor names to file names in the folder",
                    index.string() + ": " + what);
}

ShardIndex read_index_file(const std::filesystem::path& index) {
  const nlohmann::json file = read_json_file(index);
  if (!file.is_object() || !file.contains("weight_map") || !file.at("weight_map").is_object()) {
    refuse_index(index, "weight_map", "no weight_map object");
  }
  ShardIndex result;
  result.index_path = index;
  std::set<std::string> files;
  for (const auto& [tensor, file_name] : file.at("weight_map").items()) {
    if (!file_name.is_string()) refuse_index(index, tensor, "weight_map entry '" + tensor + "' is not a file name");
    const std::string name = file_name.get<std::string>();
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
      refuse_index(index, name, "weight_map entry '" + tensor + "' names '" + name + "', not a file in the folder");
    }
    result.weight_map[tensor] = name;
    files.insert(name);
  }
  if (files.empty()) refuse_index(index, "{}", "weight_map names no tensor");
  result.files.assign(files.begin(), files.end());
  return result;
}

}  // namespace

ShardIndex read_shard_index(const std::filesystem::path& folder) {
  if (!std::filesystem::is_directory(folder)) {
    throw ConfigError("checkpoint_files", folder.string(), "a checkpoint folder", folder.string() + ": not a folder");
  }
  const auto index = folder / kIndexName;
  if (std::filesystem::exists(index)) return read_index_file(index);
  ShardIndex result;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.is_regular_file() && entry.path().extension() == ".safetensors") {
      result.files.push_back(entry.path().filename().string());
    }
  }
  std::sort(result.files.begin(), result.files.end());
  if (result.files.empty()) {
    throw ConfigError("checkpoint_files", folder.string(), "at least one *.safetensors file",
                      folder.string() + ": no *.safetensors file and no " + kIndexName);
  }
  return result;
}

}  // namespace marlin_jit::checkpoint
