// Tests for runtime/src/checkpoint/nvfp4_checkpoint.cpp (with the quant config, shard index and layer collector it
// drives): checkpoints written in ModelOpt's layout open and list exactly the layers written, with their shapes,
// scales and bytes; broken ones are each refused with ConfigError naming the file or tensor and the rule.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "marlin_jit/checkpoint.hpp"
#include "marlin_jit/error.hpp"
#include "modelopt_checkpoint_writer.hpp"
#include "temp_cache_dir.hpp"
#include "test_seed.hpp"

namespace marlin_jit {
namespace {

namespace fs = std::filesystem;
using test::ModelOptCheckpointSpec;
using test::SafetensorsEntry;

std::uint64_t case_seed() {
  return test::seed_for(::testing::UnitTest::GetInstance()->current_test_info()->name());
}

// Two small decoder blocks: q/k/v/o 64×64, gate/up 96×64, down 64×96.
ModelOptCheckpointSpec small_spec(std::uint64_t seed) { return test::llama_like_spec(2, 64, 96, 32, seed); }

// The refusal of opening `folder`: its rule, with every string of `names` in the message.
std::string refusal_rule(const fs::path& folder, const std::vector<std::string>& names) {
  try {
    Nvfp4Checkpoint::open(folder);
  } catch (const ConfigError& error) {
    const std::string message = error.what();
    for (const std::string& name : names) EXPECT_NE(message.find(name), std::string::npos) << message;
    return error.rule();
  }
  return "accepted";
}

// Rewrites model.safetensors of a single-file checkpoint with `edit` applied to its entries.
void rewrite_entries(const fs::path& folder, const test::WrittenCheckpoint& written,
                     const std::function<void(std::vector<SafetensorsEntry>&)>& edit) {
  std::vector<SafetensorsEntry> entries;
  for (const auto& [name, tensor] : written.tensors) {
    entries.push_back({name, tensor.dtype, tensor.shape, tensor.bytes});
  }
  edit(entries);
  test::write_file(folder / "model.safetensors", test::safetensors_file(entries));
}

void expect_matches_written(const Nvfp4Checkpoint& checkpoint, const ModelOptCheckpointSpec& spec,
                            const test::WrittenCheckpoint& written) {
  ASSERT_EQ(checkpoint.layers().size(), spec.layers.size());
  for (const Nvfp4LayerInfo& layer : checkpoint.layers()) {
    const auto host = written.layers.find(layer.prefix);
    ASSERT_NE(host, written.layers.end()) << layer.prefix;
    EXPECT_EQ(layer.n, host->second.n) << layer.prefix;
    EXPECT_EQ(layer.k, host->second.k) << layer.prefix;
    EXPECT_EQ(layer.weight_scale_2, host->second.global_scale) << layer.prefix;
    ASSERT_TRUE(layer.input_scale.has_value()) << layer.prefix;
    EXPECT_EQ(*layer.input_scale, written.input_scales.at(layer.prefix)) << layer.prefix;
  }
  EXPECT_EQ(checkpoint.tensor_names().size(), written.tensors.size());
  for (const auto& [name, tensor] : written.tensors) {
    const CheckpointTensor view = checkpoint.tensor(name);
    EXPECT_EQ(view.dtype, tensor.dtype) << name;
    EXPECT_EQ(view.shape, tensor.shape) << name;
    EXPECT_EQ(std::vector<std::uint8_t>(view.bytes.begin(), view.bytes.end()), tensor.bytes) << name;
    EXPECT_EQ(view.file.filename().string(), tensor.file) << name;
  }
}

TEST(Nvfp4Checkpoint, OpensExactlyWhatWasWritten) {
  test::TempCacheDir folder;
  const ModelOptCheckpointSpec spec = small_spec(case_seed());
  const auto written = test::write_modelopt_checkpoint(folder.path(), spec);
  const Nvfp4Checkpoint checkpoint = Nvfp4Checkpoint::open(folder.path());
  expect_matches_written(checkpoint, spec, written);
  EXPECT_EQ(checkpoint.quant_config().quant_algo, "NVFP4");
  EXPECT_EQ(checkpoint.quant_config().group_size, 16);
  EXPECT_EQ(checkpoint.quant_config().exclude_modules, std::vector<std::string>{"lm_head"});
  EXPECT_EQ(checkpoint.quant_config().producer_name, "modelopt");
  EXPECT_EQ(checkpoint.quant_config().source.filename(), "hf_quant_config.json");
  // Natural order: every layer of block 0 before block 1, the projections by name within a block.
  EXPECT_EQ(checkpoint.layers().front().prefix, "model.layers.0.mlp.down_proj");
  EXPECT_EQ(checkpoint.layers().back().prefix, "model.layers.1.self_attn.v_proj");
}

TEST(Nvfp4Checkpoint, ReportsUnquantizedModulesAndWhichAreExcluded) {
  test::TempCacheDir folder;
  const ModelOptCheckpointSpec spec = small_spec(case_seed());
  test::write_modelopt_checkpoint(folder.path(), spec);
  const auto unquantized = Nvfp4Checkpoint::open(folder.path()).unquantized_modules();
  ASSERT_EQ(unquantized.size(), spec.unquantized.size());
  for (const UnquantizedModule& module : unquantized) {
    EXPECT_EQ(module.dtype, "BF16") << module.prefix;
    EXPECT_EQ(module.excluded, module.prefix == "lm_head") << module.prefix;
  }
  EXPECT_EQ(unquantized.front().prefix, "lm_head");
}

TEST(Nvfp4Checkpoint, ExcludePatternsMatchLikeFnmatch) {
  test::TempCacheDir folder;
  ModelOptCheckpointSpec spec = small_spec(case_seed());
  spec.exclude_modules = {"lm_head", "model.layers.*.input_layernorm"};
  test::write_modelopt_checkpoint(folder.path(), spec);
  const Nvfp4Checkpoint checkpoint = Nvfp4Checkpoint::open(folder.path());
  int excluded = 0;
  for (const UnquantizedModule& module : checkpoint.unquantized_modules()) {
    excluded += module.excluded ? 1 : 0;
  }
  EXPECT_EQ(excluded, 3);  // lm_head and both blocks' input_layernorm
}

TEST(Nvfp4Checkpoint, OpensShardedCheckpointsThroughTheIndex) {
  test::TempCacheDir folder;
  ModelOptCheckpointSpec spec = small_spec(case_seed());
  spec.shards = 3;
  const auto written = test::write_modelopt_checkpoint(folder.path(), spec);
  ASSERT_TRUE(fs::exists(folder.path() / "model.safetensors.index.json"));
  expect_matches_written(Nvfp4Checkpoint::open(folder.path()), spec, written);
}

TEST(Nvfp4Checkpoint, ReadsTheQuantConfigFromConfigJson) {
  test::TempCacheDir folder;
  ModelOptCheckpointSpec spec = small_spec(case_seed());
  spec.quant_config_file = test::QuantConfigFile::config_json;
  const auto written = test::write_modelopt_checkpoint(folder.path(), spec);
  ASSERT_FALSE(fs::exists(folder.path() / "hf_quant_config.json"));
  const Nvfp4Checkpoint checkpoint = Nvfp4Checkpoint::open(folder.path());
  EXPECT_EQ(checkpoint.quant_config().source.filename(), "config.json");
  expect_matches_written(checkpoint, spec, written);
}

TEST(Nvfp4Checkpoint, RefusesQuantConfigErrors) {
  test::TempCacheDir folder;
  test::write_modelopt_checkpoint(folder.path(), small_spec(case_seed()));
  const fs::path config = folder.path() / "hf_quant_config.json";
  test::write_text(config, "{\"producer\": {\"name\": \"modelopt\"}, \"quantization\": {\"quant_algo\": ");
  EXPECT_EQ(refusal_rule(folder.path(), {"hf_quant_config.json", "not valid JSON"}), "checkpoint_json");
  test::write_text(config, R"({"quantization": {"quant_algo": "FP8", "group_size": 16}})");
  EXPECT_EQ(refusal_rule(folder.path(), {"hf_quant_config.json", "FP8"}), "checkpoint_quant_algo");
  test::write_text(config, R"({"quantization": {"quant_algo": "NVFP4", "group_size": 32}})");
  EXPECT_EQ(refusal_rule(folder.path(), {"hf_quant_config.json", "32"}), "quant_group_size");
  test::write_text(config, R"({"quantization": {"quant_algo": "NVFP4", "group_size": "16"}})");
  EXPECT_EQ(refusal_rule(folder.path(), {"group_size"}), "checkpoint_quant_config");
  test::write_text(config, R"({"quantization": {"quant_algo": "NVFP4", "exclude_modules": "lm_head"}})");
  EXPECT_EQ(refusal_rule(folder.path(), {"exclude_modules"}), "checkpoint_quant_config");
  fs::remove(config);
  EXPECT_EQ(refusal_rule(folder.path(), {"not a ModelOpt checkpoint"}), "checkpoint_quant_config");
}

TEST(Nvfp4Checkpoint, RefusesMissingOrBrokenFiles) {
  test::TempCacheDir folder;
  EXPECT_EQ(refusal_rule(folder.path() / "absent", {"absent"}), "checkpoint_quant_config");
  const auto written = test::write_modelopt_checkpoint(folder.path(), small_spec(case_seed()));
  const fs::path model = folder.path() / "model.safetensors";
  const auto bytes = test::read_file(model);
  test::write_file(model, {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2)});
  EXPECT_EQ(refusal_rule(folder.path(), {"model.safetensors"}), "safetensors_offsets");
  test::write_file(model, {bytes.begin(), bytes.begin() + 5});
  EXPECT_EQ(refusal_rule(folder.path(), {"model.safetensors", "too short"}), "safetensors_header");
  fs::remove(model);
  EXPECT_EQ(refusal_rule(folder.path(), {"no *.safetensors"}), "checkpoint_files");
}

TEST(Nvfp4Checkpoint, RefusesWrongDtypes) {
  test::TempCacheDir folder;
  const auto written = test::write_modelopt_checkpoint(folder.path(), small_spec(case_seed()));
  const std::string layer = "model.layers.1.mlp.up_proj";
  struct Case { std::string tensor, dtype; };
  for (const Case& bad : {Case{".weight_scale", "U8"}, Case{".weight", "I8"}, Case{".weight_scale_2", "BF16"},
                          Case{".input_scale", "F16"}}) {
    rewrite_entries(folder.path(), written, [&](std::vector<SafetensorsEntry>& entries) {
      for (auto& entry : entries) {
        if (entry.name != layer + bad.tensor) continue;
        entry.dtype = bad.dtype;
        if (bad.dtype == "BF16" || bad.dtype == "F16") entry.shape = {2};  // keep dtype × shape = 4 bytes
      }
    });
    EXPECT_EQ(refusal_rule(folder.path(), {layer + bad.tensor, bad.dtype}), "nvfp4_tensor_dtype") << bad.tensor;
  }
}

TEST(Nvfp4Checkpoint, RefusesMissingScales) {
  test::TempCacheDir folder;
  const auto written = test::write_modelopt_checkpoint(folder.path(), small_spec(case_seed()));
  const std::string layer = "model.layers.0.self_attn.k_proj";
  for (const std::string suffix : {".weight_scale", ".weight_scale_2", ".weight"}) {
    rewrite_entries(folder.path(), written, [&](std::vector<SafetensorsEntry>& entries) {
      std::erase_if(entries, [&](const SafetensorsEntry& entry) { return entry.name == layer + suffix; });
    });
    EXPECT_EQ(refusal_rule(folder.path(), {layer + suffix, "missing"}), "nvfp4_tensor_missing") << suffix;
  }
}

TEST(Nvfp4Checkpoint, RefusesShapeMismatchBetweenWeightAndScale) {
  test::TempCacheDir folder;
  const auto written = test::write_modelopt_checkpoint(folder.path(), small_spec(case_seed()));
  const std::string layer = "model.layers.0.mlp.down_proj";  // weight [64, 48], scale [64, 6]
  struct Case { std::string tensor; std::vector<std::int64_t> shape; std::string rule; };
  for (const Case& bad : {Case{".weight_scale", {32, 12}, "nvfp4_tensor_shape"},
                          Case{".weight_scale", {6, 64}, "nvfp4_tensor_shape"},
                          Case{".weight_scale", {384}, "nvfp4_tensor_shape"},
                          Case{".weight", {3072}, "nvfp4_tensor_shape"},
                          Case{".weight_scale_2", {1, 1}, "nvfp4_tensor_shape"}}) {
    rewrite_entries(folder.path(), written, [&](std::vector<SafetensorsEntry>& entries) {
      for (auto& entry : entries) {
        if (entry.name == layer + bad.tensor) entry.shape = bad.shape;
      }
    });
    EXPECT_EQ(refusal_rule(folder.path(), {layer + bad.tensor, "shape"}), bad.rule) << bad.tensor;
  }
}

TEST(Nvfp4Checkpoint, AsksTheDispatcherAboutShapesAndGlobalScales) {
  test::TempCacheDir folder;
  const auto written = test::write_modelopt_checkpoint(folder.path(), small_spec(case_seed()));
  const std::string layer = "model.layers.1.self_attn.o_proj";
  rewrite_entries(folder.path(), written, [&](std::vector<SafetensorsEntry>& entries) {
    for (auto& entry : entries) {
      if (entry.name != layer + ".weight_scale_2") continue;
      entry.bytes = test::f32_bytes(std::numeric_limits<float>::infinity());
    }
  });
  EXPECT_EQ(refusal_rule(folder.path(), {layer}), "nvfp4_global_scale_finite");
  rewrite_entries(folder.path(), written, [&](std::vector<SafetensorsEntry>& entries) {
    for (auto& entry : entries) {
      if (entry.name == layer + ".weight") entry = {entry.name, "U8", {0, 32}, {}};
      if (entry.name == layer + ".weight_scale") entry = {entry.name, "F8_E4M3", {0, 4}, {}};
    }
  });
  EXPECT_EQ(refusal_rule(folder.path(), {layer}), "shape_positive");
}

TEST(Nvfp4Checkpoint, RefusesAU8WeightWithoutScales) {
  test::TempCacheDir folder;
  ModelOptCheckpointSpec spec = small_spec(case_seed());
  const auto written = test::write_modelopt_checkpoint(folder.path(), spec);
  rewrite_entries(folder.path(), written, [&](std::vector<SafetensorsEntry>& entries) {
    entries.push_back({"model.extra.weight", "U8", {4, 8}, std::vector<std::uint8_t>(32, 0x11)});
  });
  EXPECT_EQ(refusal_rule(folder.path(), {"model.extra.weight_scale", "U8"}), "nvfp4_tensor_missing");
}

TEST(Nvfp4Checkpoint, RefusesAnIndexThatDisagreesWithTheFiles) {
  test::TempCacheDir folder;
  ModelOptCheckpointSpec spec = small_spec(case_seed());
  spec.shards = 2;
  test::write_modelopt_checkpoint(folder.path(), spec);
  const fs::path index = folder.path() / "model.safetensors.index.json";
  auto json = nlohmann::json::parse(test::read_file(index));
  const std::string moved = "model.layers.0.mlp.up_proj.weight";
  const std::string file = json["weight_map"][moved];
  json["weight_map"][moved] = file == "model-00001-of-00002.safetensors" ? "model-00002-of-00002.safetensors"
                                                                        : "model-00001-of-00002.safetensors";
  test::write_text(index, json.dump());
  EXPECT_EQ(refusal_rule(folder.path(), {moved, "index"}), "checkpoint_index");
  json["weight_map"][moved] = "../elsewhere.safetensors";
  test::write_text(index, json.dump());
  EXPECT_EQ(refusal_rule(folder.path(), {"../elsewhere.safetensors"}), "checkpoint_index");
  test::write_text(index, "{\"weight_map\": [}");
  EXPECT_EQ(refusal_rule(folder.path(), {"model.safetensors.index.json"}), "checkpoint_json");
}

TEST(Nvfp4Checkpoint, MissingTensorLookupIsAConfigError) {
  test::TempCacheDir folder;
  test::write_modelopt_checkpoint(folder.path(), small_spec(case_seed()));
  const Nvfp4Checkpoint checkpoint = Nvfp4Checkpoint::open(folder.path());
  EXPECT_FALSE(checkpoint.find_tensor("nope").has_value());
  try {
    checkpoint.tensor("nope");
    FAIL() << "no error";
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.rule(), "checkpoint_tensor_missing");
  }
}

}  // namespace
}  // namespace marlin_jit
