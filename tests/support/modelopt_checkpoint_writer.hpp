// Writes small ModelOpt NVFP4 checkpoints exactly as ModelOpt's Hugging Face export lays them out, from seeded
// random NVFP4 data (nvfp4_checkpoint.hpp): safetensors files (8-byte little-endian header length, JSON header with
// __metadata__ {"format": "pt"} padded with spaces to 8 bytes, tensors back to back), optional sharding with
// model.safetensors.index.json, hf_quant_config.json and/or config.json's quantization_config. Per quantized layer:
// <prefix>.weight U8 [N, K/2], <prefix>.weight_scale F8_E4M3 [N, K/16], <prefix>.weight_scale_2 F32 [],
// <prefix>.input_scale F32 []. Header-only; tests, the example and the writer tool use it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nvfp4_checkpoint.hpp"

namespace marlin_jit::test {

// ---- safetensors files

struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // "U8", "F8_E4M3", "F32", "BF16", ...
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;
};

// The header JSON of `entries` laid out back to back in order, as ordered JSON (__metadata__ first).
inline nlohmann::ordered_json safetensors_header(const std::vector<SafetensorsEntry>& entries,
                                                 const std::map<std::string, std::string>& metadata = {
                                                     {"format", "pt"}}) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const SafetensorsEntry& entry : entries) {
    header[entry.name] = {{"dtype", entry.dtype},
                          {"shape", entry.shape},
                          {"data_offsets", {offset, offset + entry.bytes.size()}}};
    offset += entry.bytes.size();
  }
  return header;
}

// A file from header text and data: the length field is the padded text's size (spaces up to a multiple of 8).
inline std::vector<std::uint8_t> safetensors_file_from(std::string header_text, const std::vector<std::uint8_t>& data) {
  while (header_text.size() % 8 != 0) header_text += ' ';
  std::vector<std::uint8_t> file(8);
  const std::uint64_t length = header_text.size();
  for (int i = 0; i < 8; ++i) file[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(length >> (8 * i));
  file.insert(file.end(), header_text.begin(), header_text.end());
  file.insert(file.end(), data.begin(), data.end());
  return file;
}

inline std::vector<std::uint8_t> safetensors_data(const std::vector<SafetensorsEntry>& entries) {
  std::vector<std::uint8_t> data;
  for (const SafetensorsEntry& entry : entries) data.insert(data.end(), entry.bytes.begin(), entry.bytes.end());
  return data;
}

inline std::vector<std::uint8_t> safetensors_file(const std::vector<SafetensorsEntry>& entries,
                                                  const std::map<std::string, std::string>& metadata = {
                                                      {"format", "pt"}}) {
  return safetensors_file_from(safetensors_header(entries, metadata).dump(), safetensors_data(entries));
}

inline void write_file(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  write_file(path, std::vector<std::uint8_t>(text.begin(), text.end()));
}

inline std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::vector<std::uint8_t> f32_bytes(float value) {
  std::vector<std::uint8_t> bytes(4);
  std::memcpy(bytes.data(), &value, 4);
  return bytes;
}

// ---- ModelOpt checkpoints

struct TestLayerSpec {
  std::string prefix;  // "model.layers.0.mlp.down_proj"
  std::int64_t n = 0;
  std::int64_t k = 0;
  CheckpointKind kind = CheckpointKind::realistic;
  bool input_scale = true;
};

struct TestTensorSpec {  // an unquantized tensor (embedding, norm, lm_head), random BF16 values
  std::string name;
  std::vector<std::int64_t> shape;
};

enum class QuantConfigFile { hf_quant_config, config_json, both };

struct ModelOptCheckpointSpec {
  std::vector<TestLayerSpec> layers;
  std::vector<TestTensorSpec> unquantized;
  std::vector<std::string> exclude_modules = {"lm_head"};
  int shards = 1;  // > 1: model-0000i-of-0000n.safetensors plus model.safetensors.index.json
  QuantConfigFile quant_config_file = QuantConfigFile::hf_quant_config;
  std::uint64_t seed = 1;
};

// A Llama-like decoder of `blocks` blocks: q/k/v/o [H, H], gate/up [I, H], down [H, I], plus BF16 embeddings,
// norms and lm_head (excluded from quantization, as ModelOpt's default does).
inline ModelOptCheckpointSpec llama_like_spec(int blocks, std::int64_t hidden, std::int64_t intermediate,
                                              std::int64_t vocab, std::uint64_t seed) {
  ModelOptCheckpointSpec spec;
  spec.seed = seed;
  spec.unquantized.push_back({"model.embed_tokens.weight", {vocab, hidden}});
  for (int b = 0; b < blocks; ++b) {
    const std::string block = "model.layers." + std::to_string(b);
    for (const char* projection : {"q_proj", "k_proj", "v_proj", "o_proj"}) {
      spec.layers.push_back({block + ".self_attn." + projection, hidden, hidden});
    }
    spec.layers.push_back({block + ".mlp.gate_proj", intermediate, hidden});
    spec.layers.push_back({block + ".mlp.up_proj", intermediate, hidden});
    spec.layers.push_back({block + ".mlp.down_proj", hidden, intermediate});
    spec.unquantized.push_back({block + ".input_layernorm.weight", {hidden}});
    spec.unquantized.push_back({block + ".post_attention_layernorm.weight", {hidden}});
  }
  spec.unquantized.push_back({"model.norm.weight", {hidden}});
  spec.unquantized.push_back({"lm_head.weight", {vocab, hidden}});
  return spec;
}

struct WrittenTensor {
  std::string dtype;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;
  std::string file;  // file name inside the folder
};

struct WrittenCheckpoint {
  std::map<std::string, Nvfp4HostLayer> layers;  // by prefix
  std::map<std::string, float> input_scales;     // by prefix, for layers written with one
  std::map<std::string, WrittenTensor> tensors;  // every tensor, by name
  std::vector<std::string> files;
};

inline nlohmann::ordered_json modelopt_quant_section(const std::vector<std::string>& exclude_modules) {
  return {{"quant_algo", "NVFP4"}, {"kv_cache_quant_algo", nullptr}, {"group_size", 16},
          {"exclude_modules", exclude_modules}};
}

namespace detail {

inline std::vector<SafetensorsEntry> checkpoint_entries(const ModelOptCheckpointSpec& spec, WrittenCheckpoint& out) {
  std::vector<SafetensorsEntry> entries;
  std::uint64_t stream = 0;
  for (const TestLayerSpec& layer : spec.layers) {
    Nvfp4HostLayer host = make_layer(layer.kind, layer.n, layer.k, stream_seed(spec.seed, ++stream));
    entries.push_back({layer.prefix + ".weight", "U8", {layer.n, layer.k / 2}, host.weight});
    entries.push_back({layer.prefix + ".weight_scale", "F8_E4M3", {layer.n, layer.k / 16}, host.weight_scale});
    entries.push_back({layer.prefix + ".weight_scale_2", "F32", {}, f32_bytes(host.global_scale)});
    if (layer.input_scale) {
      const float input_scale = static_cast<float>(0.5 + TestRng(stream_seed(spec.seed, ++stream)).uniform());
      entries.push_back({layer.prefix + ".input_scale", "F32", {}, f32_bytes(input_scale)});
      out.input_scales[layer.prefix] = input_scale;
    }
    out.layers.emplace(layer.prefix, std::move(host));
  }
  for (const TestTensorSpec& tensor : spec.unquantized) {
    std::int64_t count = 1;
    for (std::int64_t dim : tensor.shape) count *= dim;
    const auto values = random_half_values(count, DType::bf16, stream_seed(spec.seed, ++stream));
    std::vector<std::uint8_t> bytes(values.size() * 2);
    std::memcpy(bytes.data(), values.data(), bytes.size());
    entries.push_back({tensor.name, "BF16", tensor.shape, std::move(bytes)});
  }
  return entries;
}

inline void write_configs(const std::filesystem::path& folder, const ModelOptCheckpointSpec& spec) {
  nlohmann::ordered_json config = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"},
                                   {"torch_dtype", "bfloat16"}};
  if (spec.quant_config_file != QuantConfigFile::hf_quant_config) {
    nlohmann::ordered_json section = {{"quant_method", "modelopt"}};
    section.update(modelopt_quant_section(spec.exclude_modules));
    config["quantization_config"] = section;
  }
  write_text(folder / "config.json", config.dump(2));
  if (spec.quant_config_file != QuantConfigFile::config_json) {
    const nlohmann::ordered_json hf_quant_config = {{"producer", {{"name", "modelopt"}, {"version", "0.37.0"}}},
                                                    {"quantization", modelopt_quant_section(spec.exclude_modules)}};
    write_text(folder / "hf_quant_config.json", hf_quant_config.dump(4));
  }
}

}  // namespace detail

// Writes the checkpoint into `folder` (created if needed) and returns every byte written, by tensor. With
// shards > 1, tensor i goes to shard i % shards, so one layer's tensors usually straddle files (as size-based
// sharding does).
inline WrittenCheckpoint write_modelopt_checkpoint(const std::filesystem::path& folder,
                                                   const ModelOptCheckpointSpec& spec) {
  std::filesystem::create_directories(folder);
  WrittenCheckpoint out;
  const std::vector<SafetensorsEntry> entries = detail::checkpoint_entries(spec, out);
  const int shards = std::max(1, spec.shards);
  std::vector<std::vector<SafetensorsEntry>> files(static_cast<std::size_t>(shards));
  for (std::size_t i = 0; i < entries.size(); ++i) files[i % files.size()].push_back(entries[i]);
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  for (int s = 0; s < shards; ++s) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", s + 1, shards);
    const std::string file_name = shards == 1 ? "model.safetensors" : name;
    write_file(folder / file_name, safetensors_file(files[static_cast<std::size_t>(s)]));
    out.files.push_back(file_name);
    for (const SafetensorsEntry& entry : files[static_cast<std::size_t>(s)]) {
      out.tensors[entry.name] = {entry.dtype, entry.shape, entry.bytes, file_name};
      weight_map[entry.name] = file_name;
    }
  }
  if (shards > 1) {
    std::uint64_t total = 0;
    for (const SafetensorsEntry& entry : entries) total += entry.bytes.size();
    const nlohmann::ordered_json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    write_text(folder / "model.safetensors.index.json", index.dump(2));
  }
  detail::write_configs(folder, spec);
  return out;
}

}  // namespace marlin_jit::test
