// Tests for runtime/src/checkpoint/layer_collector.cpp beyond what the folder tests reach: the natural name order
// the example's forward chain walks, per-expert MoE tensors collected as layers, and scalar scales of shape [1].
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "checkpoint/layer_collector.hpp"
#include "marlin_jit/error.hpp"
#include "modelopt_checkpoint_writer.hpp"

namespace marlin_jit::checkpoint {
namespace {

TEST(LayerCollector, NaturalOrderComparesDigitRunsAsNumbers) {
  std::vector<std::string> names = {"layers.10.a", "layers.2.a", "layers.1.b", "layers.1.a", "layers.02.c",
                                    "layers.100", "layers.9"};
  std::sort(names.begin(), names.end(), natural_less);
  EXPECT_EQ(names, (std::vector<std::string>{"layers.1.a", "layers.1.b", "layers.2.a", "layers.02.c", "layers.9",
                                             "layers.10.a", "layers.100"}));
  EXPECT_FALSE(natural_less("a", "a"));
  EXPECT_TRUE(natural_less("a", "a.b"));
  EXPECT_FALSE(natural_less("a.b", "a"));
}

// A table of the written entries, viewed in the writer's own buffers.
TensorTable table_of(const std::vector<test::SafetensorsEntry>& entries) {
  TensorTable table;
  for (const auto& entry : entries) {
    SafetensorsTensor header{entry.name, safetensors_dtype(entry.dtype), entry.shape, 0, entry.bytes.size()};
    table.emplace(entry.name, TensorRecord{header, entry.bytes, 0});
  }
  return table;
}

std::vector<test::SafetensorsEntry> layer_entries(const std::string& prefix, std::int64_t n, std::int64_t k,
                                                  std::vector<std::int64_t> scalar_shape) {
  const test::Nvfp4HostLayer host = test::make_realistic_layer(n, k, 11);
  return {{prefix + ".weight", "U8", {n, k / 2}, host.weight},
          {prefix + ".weight_scale", "F8_E4M3", {n, k / 16}, host.weight_scale},
          {prefix + ".weight_scale_2", "F32", scalar_shape, test::f32_bytes(0.125f)}};
}

TEST(LayerCollector, PerExpertMoeTensorsAreLayers) {
  std::vector<test::SafetensorsEntry> entries;
  for (int expert : {0, 1, 10, 2}) {
    for (const char* projection : {"gate_proj", "up_proj", "down_proj"}) {
      const std::string prefix = "model.layers.3.mlp.experts." + std::to_string(expert) + "." + projection;
      const bool down = std::string(projection) == "down_proj";
      for (auto& entry : layer_entries(prefix, down ? 64 : 32, down ? 32 : 64, {1})) entries.push_back(entry);
    }
  }
  const CollectedLayers collected = collect_layers(table_of(entries), {});
  ASSERT_EQ(collected.layers.size(), 12u);
  EXPECT_EQ(collected.layers[0].prefix, "model.layers.3.mlp.experts.0.down_proj");
  EXPECT_EQ(collected.layers[3].prefix, "model.layers.3.mlp.experts.1.down_proj");
  EXPECT_EQ(collected.layers[9].prefix, "model.layers.3.mlp.experts.10.down_proj");
  EXPECT_EQ(collected.layers[0].n, 64);
  EXPECT_EQ(collected.layers[0].k, 32);
  EXPECT_EQ(collected.layers[0].weight_scale_2, 0.125f);  // shape [1] is a scalar too
  EXPECT_FALSE(collected.layers[0].input_scale.has_value());
  EXPECT_TRUE(collected.unquantized.empty());
}

TEST(LayerCollector, StackedThreeDimensionalExpertsAreRefusedByShape) {
  const test::Nvfp4HostLayer host = test::make_realistic_layer(64, 32, 5);
  const std::vector<test::SafetensorsEntry> entries = {
      {"experts.gate_up_proj.weight", "U8", {2, 32, 16}, host.weight},
      {"experts.gate_up_proj.weight_scale", "F8_E4M3", {2, 32, 2}, host.weight_scale},
      {"experts.gate_up_proj.weight_scale_2", "F32", {}, test::f32_bytes(1.0f)}};
  try {
    collect_layers(table_of(entries), {});
    FAIL() << "accepted a 3-D weight";
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.rule(), "nvfp4_tensor_shape");
    EXPECT_NE(std::string(error.what()).find("experts.gate_up_proj.weight"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace marlin_jit::checkpoint
