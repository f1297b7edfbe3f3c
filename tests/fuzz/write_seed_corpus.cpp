// Writes the fuzzer's seed corpus into the folder given as argv[1]: valid safetensors files as ModelOpt writes them
// (one NVFP4 layer, an unquantized tensor, an empty file) and a few near-misses, so fuzzing starts from the format.
#include <cstdio>
#include <filesystem>
#include <string>

#include "modelopt_checkpoint_writer.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus-folder>\n", argv[0]);
    return 2;
  }
  namespace test = marlin_jit::test;
  const std::filesystem::path folder = argv[1];
  std::filesystem::create_directories(folder);
  const test::Nvfp4HostLayer layer = test::make_realistic_layer(4, 32, 7);
  const std::vector<test::SafetensorsEntry> nvfp4 = {
      {"model.layers.0.mlp.down_proj.weight", "U8", {4, 16}, layer.weight},
      {"model.layers.0.mlp.down_proj.weight_scale", "F8_E4M3", {4, 2}, layer.weight_scale},
      {"model.layers.0.mlp.down_proj.weight_scale_2", "F32", {}, test::f32_bytes(layer.global_scale)},
      {"model.layers.0.mlp.down_proj.input_scale", "F32", {}, test::f32_bytes(0.5f)},
      {"model.norm.weight", "BF16", {4}, std::vector<std::uint8_t>(8, 0x3F)}};
  test::write_file(folder / "nvfp4_layer.safetensors", test::safetensors_file(nvfp4));
  test::write_file(folder / "no_metadata.safetensors", test::safetensors_file({nvfp4[4]}, {}));
  test::write_file(folder / "empty.safetensors", test::safetensors_file({}));
  test::write_file(folder / "overlap.safetensors",
                   test::safetensors_file_from(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                                               R"("b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
                                               std::vector<std::uint8_t>(6, 1)));
  test::write_file(folder / "bad_json.safetensors", test::safetensors_file_from("{\"a\": [1, 2", {}));
  std::printf("wrote 5 seed files to %s\n", folder.c_str());
  return 0;
}
