// ModelOpt NVFP4 checkpoints from disk, without Python: a folder of safetensors files (one, or shards listed by
// model.safetensors.index.json), hf_quant_config.json (or config.json's quantization_config) and config.json.
// Nvfp4Checkpoint opens and checks everything on the CPU (no GPU needed); load_nvfp4_checkpoint then uploads and
// prepares every quantized linear layer. Errors: ConfigError naming the file, the tensor, the rule and the value,
// always before any GPU work; then DriverError / CompileError from preparation.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <cuda.h>

#include "marlin_jit/export.h"
#include "marlin_jit/nvfp4_linear.hpp"

MARLIN_JIT_API_BEGIN
namespace marlin_jit {

class Runtime;
namespace checkpoint {
struct CheckpointState;  // the mapped files and the tensor table, defined in runtime/src/checkpoint
}

// The checkpoint's quantization section.
struct Nvfp4QuantConfig {
  std::string quant_algo;                    // "NVFP4"
  int group_size = 16;
  std::vector<std::string> exclude_modules;  // as written: names or fnmatch-style patterns ("*.mlp.gate")
  std::string producer_name;                 // "modelopt", when the file says
  std::string producer_version;
  std::filesystem::path source;              // hf_quant_config.json or config.json
};

// One quantized linear layer: `<prefix>.weight` U8 [N, K/2], `<prefix>.weight_scale` F8_E4M3 [N, K/16],
// `<prefix>.weight_scale_2` F32 scalar, optionally `<prefix>.input_scale` F32 scalar (unused by W4A16 kernels).
struct Nvfp4LayerInfo {
  std::string prefix;  // "model.layers.0.mlp.down_proj"
  std::int64_t n = 0;  // output features
  std::int64_t k = 0;  // input features
  float weight_scale_2 = 1.0f;
  std::optional<float> input_scale;
};

// A module whose `<prefix>.weight` is not NVFP4 (embeddings, norms, lm_head, anything excluded): left as it is.
struct UnquantizedModule {
  std::string prefix;
  std::string dtype;  // safetensors dtype of its weight ("BF16", ...)
  std::vector<std::int64_t> shape;
  bool excluded = false;  // matches an exclude_modules entry of the quant config
};

// A tensor as stored: a zero-copy view into the mapped file, valid while its Nvfp4Checkpoint (or a copy) lives.
struct CheckpointTensor {
  std::string name;
  std::string dtype;  // safetensors dtype: "U8", "F8_E4M3", "F32", "BF16", ...
  std::vector<std::int64_t> shape;
  std::span<const std::uint8_t> bytes;
  std::filesystem::path file;
};

// An opened, fully checked checkpoint. Cheap to copy (copies share the mapped files). Thread-safe to read.
class Nvfp4Checkpoint {
 public:
  // Reads the quant config, every safetensors header and the index, and checks every quantized layer's dtypes and
  // shapes and the dispatcher's rules (group size, shape, finite global scale). Throws ConfigError otherwise.
  static Nvfp4Checkpoint open(const std::filesystem::path& folder);

  const std::filesystem::path& folder() const;
  const Nvfp4QuantConfig& quant_config() const;
  const std::vector<Nvfp4LayerInfo>& layers() const;  // in natural name order (layers.2 before layers.10)
  const std::vector<UnquantizedModule>& unquantized_modules() const;
  std::vector<std::string> tensor_names() const;  // sorted
  std::optional<CheckpointTensor> find_tensor(std::string_view name) const;
  CheckpointTensor tensor(std::string_view name) const;  // ConfigError (rule checkpoint_tensor_missing) if absent

 private:
  explicit Nvfp4Checkpoint(std::shared_ptr<const checkpoint::CheckpointState> state) : state_(std::move(state)) {}
  std::shared_ptr<const checkpoint::CheckpointState> state_;
};

struct LoadedNvfp4Checkpoint {
  std::map<std::string, PreparedNvfp4Linear> layers;  // by prefix
  std::vector<std::string> layer_order;               // prefixes in natural name order
  std::vector<UnquantizedModule> unquantized_modules;
  Nvfp4QuantConfig quant_config;
};

// Uploads each layer (one reused staging buffer) and prepares it with prepare_nvfp4_linear on `stream`, on the
// calling thread's current device (device 0's primary context if none). The path overload opens (and checks) the
// folder first, so a bad checkpoint is refused before any GPU work.
LoadedNvfp4Checkpoint load_nvfp4_checkpoint(Runtime& runtime, const Nvfp4Checkpoint& checkpoint, CUstream stream);
LoadedNvfp4Checkpoint load_nvfp4_checkpoint(Runtime& runtime, const std::filesystem::path& folder, CUstream stream);

}  // namespace marlin_jit
MARLIN_JIT_API_END
