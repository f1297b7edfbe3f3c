// Which safetensors files make up a checkpoint: the files model.safetensors.index.json's weight_map names (and which
// tensor each holds), or, without an index, every *.safetensors file in the folder.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace marlin_jit::checkpoint {

struct ShardIndex {
  std::vector<std::string> files;                 // file names inside the folder, sorted
  std::map<std::string, std::string> weight_map;  // tensor name -> file name; empty without an index
  std::filesystem::path index_path;               // empty without an index
};

// Throws ConfigError: rule checkpoint_index (weight_map missing or not names to plain file names), checkpoint_json
// (bad JSON), checkpoint_files (no safetensors file).
ShardIndex read_shard_index(const std::filesystem::path& folder);

}  // namespace marlin_jit::checkpoint
