// Nvfp4Checkpoint::open: quant config, shard list, every file mapped and its header checked, one tensor table
// across files (checked against the index), then the layers. All of it on the CPU, before any GPU work.
#include <algorithm>

#include "checkpoint/layer_collector.hpp"
#include "checkpoint/mapped_file.hpp"
#include "checkpoint/quant_config.hpp"
#include "checkpoint/shard_index.hpp"
#include "checkpoint/tensor_table.hpp"
#include "marlin_jit/checkpoint.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit {

struct checkpoint::CheckpointState {
  std::filesystem::path folder;
  Nvfp4QuantConfig quant_config;
  std::vector<MappedFile> files;
  TensorTable tensors;
  CollectedLayers collected;
};

namespace {

using checkpoint::CheckpointState;

void add_file_tensors(CheckpointState& state, std::size_t file_index, const checkpoint::ShardIndex& index) {
  const checkpoint::MappedFile& file = state.files[file_index];
  const std::string file_name = file.path().filename().string();
  const auto header = checkpoint::parse_safetensors_header(file.bytes(), file.path().string());
  for (const checkpoint::SafetensorsTensor& tensor : header.tensors) {
    const auto mapped = index.weight_map.find(tensor.name);
    if (!index.weight_map.empty() && (mapped == index.weight_map.end() || mapped->second != file_name)) {
      throw ConfigError("checkpoint_index", tensor.name, "the file the index names",
                        index.index_path.string() + ": tensor '" + tensor.name + "' is in " + file_name +
                            ", but the index " +
                            (mapped == index.weight_map.end() ? "does not list it" : "puts it in " + mapped->second));
    }
    const auto bytes = file.bytes().subspan(header.data_start + tensor.begin, tensor.end - tensor.begin);
    const auto [existing, inserted] =
        state.tensors.try_emplace(tensor.name, checkpoint::TensorRecord{tensor, bytes, file_index});
    if (!inserted) {
      throw ConfigError("checkpoint_index", tensor.name, "one file per tensor",
                        "tensor '" + tensor.name + "' is in both " +
                            state.files[existing->second.file_index].path().string() + " and " + file.path().string());
    }
  }
}

void check_index_complete(const CheckpointState& state, const checkpoint::ShardIndex& index) {
  for (const auto& [tensor, file_name] : index.weight_map) {
    if (state.tensors.count(tensor) == 0) {
      throw ConfigError("checkpoint_index", tensor, "every listed tensor present",
                        index.index_path.string() + ": lists tensor '" + tensor + "' in " + file_name +
                            ", which does not hold it");
    }
  }
}

CheckpointTensor view(const CheckpointState& state, const std::string& name,
                      const checkpoint::TensorRecord& record) {
  return {name, std::string(record.header.dtype.name), record.header.shape, record.bytes,
          state.files[record.file_index].path()};
}

}  // namespace

Nvfp4Checkpoint Nvfp4Checkpoint::open(const std::filesystem::path& folder) {
  auto state = std::make_shared<CheckpointState>();
  state->folder = folder;
  state->quant_config = checkpoint::read_quant_config(folder);
  const checkpoint::ShardIndex index = checkpoint::read_shard_index(folder);
  for (const std::string& file_name : index.files) {
    state->files.emplace_back(folder / file_name);
    add_file_tensors(*state, state->files.size() - 1, index);
  }
  check_index_complete(*state, index);
  state->collected = checkpoint::collect_layers(state->tensors, state->quant_config);
  return Nvfp4Checkpoint(std::move(state));
}

const std::filesystem::path& Nvfp4Checkpoint::folder() const { return state_->folder; }
const Nvfp4QuantConfig& Nvfp4Checkpoint::quant_config() const { return state_->quant_config; }
const std::vector<Nvfp4LayerInfo>& Nvfp4Checkpoint::layers() const { return state_->collected.layers; }
const std::vector<UnquantizedModule>& Nvfp4Checkpoint::unquantized_modules() const {
  return state_->collected.unquantized;
}

std::vector<std::string> Nvfp4Checkpoint::tensor_names() const {
  std::vector<std::string> names;
  names.reserve(state_->tensors.size());
  for (const auto& entry : state_->tensors) names.push_back(entry.first);
  return names;
}

std::optional<CheckpointTensor> Nvfp4Checkpoint::find_tensor(std::string_view name) const {
  const auto it = state_->tensors.find(name);
  if (it == state_->tensors.end()) return std::nullopt;
  return view(*state_, it->first, it->second);
}

CheckpointTensor Nvfp4Checkpoint::tensor(std::string_view name) const {
  if (auto found = find_tensor(name)) return *std::move(found);
  throw ConfigError("checkpoint_tensor_missing", std::string(name), "a tensor of the checkpoint",
                    state_->folder.string() + ": no tensor '" + std::string(name) + "'");
}

}  // namespace marlin_jit
