// Tests for runtime/src/checkpoint/quant_config.cpp: which file wins, config.json's flat modelopt section with its
// "ignore" list, and exclude matching (exact names and fnmatch patterns).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "checkpoint/quant_config.hpp"
#include "marlin_jit/error.hpp"
#include "modelopt_checkpoint_writer.hpp"
#include "temp_cache_dir.hpp"

namespace marlin_jit::checkpoint {
namespace {

TEST(QuantConfig, HfQuantConfigWinsOverConfigJson) {
  test::TempCacheDir folder;
  test::write_text(folder.path() / "hf_quant_config.json",
                   R"({"producer": {"name": "modelopt", "version": "0.29.0"},
                       "quantization": {"quant_algo": "NVFP4", "group_size": 16, "exclude_modules": ["lm_head"]}})");
  test::write_text(folder.path() / "config.json",
                   R"({"quantization_config": {"quant_method": "modelopt", "quant_algo": "FP8"}})");
  const Nvfp4QuantConfig config = read_quant_config(folder.path());
  EXPECT_EQ(config.source.filename(), "hf_quant_config.json");
  EXPECT_EQ(config.producer_version, "0.29.0");
  EXPECT_EQ(config.exclude_modules, std::vector<std::string>{"lm_head"});
}

TEST(QuantConfig, ReadsConfigJsonWithIgnoreList) {
  test::TempCacheDir folder;
  test::write_text(folder.path() / "config.json",
                   R"({"model_type": "llama", "quantization_config": {"quant_method": "modelopt",
                       "quant_algo": "NVFP4", "group_size": 16, "ignore": ["lm_head", "*.mlp.gate"]}})");
  const Nvfp4QuantConfig config = read_quant_config(folder.path());
  EXPECT_EQ(config.source.filename(), "config.json");
  EXPECT_EQ(config.exclude_modules, (std::vector<std::string>{"lm_head", "*.mlp.gate"}));
}

TEST(QuantConfig, ConfigJsonOfAnotherMethodIsNotAModelOptCheckpoint) {
  test::TempCacheDir folder;
  test::write_text(folder.path() / "config.json",
                   R"({"quantization_config": {"quant_method": "compressed-tensors", "quant_algo": "NVFP4"}})");
  try {
    read_quant_config(folder.path());
    FAIL() << "accepted";
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.rule(), "checkpoint_quant_config");
  }
}

TEST(QuantConfig, MissingGroupSizeMeansSixteen) {
  const Nvfp4QuantConfig config = parse_quant_section({{"quant_algo", "NVFP4"}}, "x.json");
  EXPECT_EQ(config.group_size, 16);
}

TEST(QuantConfig, ExcludeMatchesNamesAndPatterns) {
  const std::vector<std::string> exclude = {"lm_head", "model.layers.*.mlp.gate", "*.router"};
  EXPECT_TRUE(is_excluded("lm_head", exclude));
  EXPECT_TRUE(is_excluded("model.layers.12.mlp.gate", exclude));
  EXPECT_TRUE(is_excluded("model.layers.0.block_sparse_moe.router", exclude));
  EXPECT_FALSE(is_excluded("model.layers.12.mlp.gate_proj", exclude));
  EXPECT_FALSE(is_excluded("lm_head2", exclude));
  EXPECT_FALSE(is_excluded("lm_head", {}));
}

}  // namespace
}  // namespace marlin_jit::checkpoint
