// marlin-jit-example-checkpoint: writes a Llama-like random NVFP4 checkpoint in ModelOpt's exact layout (safetensors,
// optional shards with an index, hf_quant_config.json, config.json) to run marlin-jit-example on.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>

#include "modelopt_checkpoint_writer.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Write a random ModelOpt NVFP4 test checkpoint (Llama-like decoder blocks)"};
  std::string folder;
  int blocks = 2, shards = 1;
  std::int64_t hidden = 1024, intermediate = 2816, vocab = 256;
  std::uint64_t seed = 1;
  bool config_json = false;
  app.add_option("folder", folder, "Folder to write (created)")->required();
  app.add_option("--blocks", blocks, "Decoder blocks (7 NVFP4 layers each)")->check(CLI::Range(1, 1000));
  app.add_option("--hidden", hidden, "Hidden size (a multiple of 16)")->check(CLI::Range(16, 65536));
  app.add_option("--intermediate", intermediate, "MLP size (a multiple of 16)")->check(CLI::Range(16, 262144));
  app.add_option("--vocab", vocab, "Vocabulary (unquantized embedding and lm_head rows)")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--shards", shards, "safetensors files (> 1 writes model.safetensors.index.json)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--seed", seed, "Random seed");
  app.add_flag("--config-json", config_json, "Put the quant config in config.json instead of hf_quant_config.json");
  CLI11_PARSE(app, argc, argv);
  if (hidden % 16 != 0 || intermediate % 16 != 0) {
    std::fprintf(stderr, "hidden and intermediate must be multiples of 16 (NVFP4 groups)\n");
    return 2;
  }
  try {
    auto spec = marlin_jit::test::llama_like_spec(blocks, hidden, intermediate, vocab, seed);
    spec.shards = shards;
    if (config_json) spec.quant_config_file = marlin_jit::test::QuantConfigFile::config_json;
    const auto written = marlin_jit::test::write_modelopt_checkpoint(folder, spec);
    std::printf("wrote %zu NVFP4 layers and %zu unquantized tensors in %zu file(s) to %s\n", written.layers.size(),
                spec.unquantized.size(), written.files.size(), folder.c_str());
  } catch (const std::exception& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  }
  return 0;
}
