// load_nvfp4_checkpoint: every quantized layer of an opened checkpoint uploaded into one staging buffer pair (sized
// for the largest layer, reused: prepare_nvfp4_linear waits for its kernels before returning) and prepared.
// Device memory goes through the driver table; the staging buffers are freed when loading ends, however it ends.
#include <algorithm>
#include <utility>

#include "driver/cuda_driver.hpp"
#include "internal/log.hpp"
#include "marlin_jit/checkpoint.hpp"
#include "marlin_jit/error.hpp"
#include "marlin_jit/runtime.hpp"

namespace marlin_jit {
namespace {

class StagingBuffer {
 public:
  explicit StagingBuffer(std::size_t bytes) {
    detail::check_cu(detail::driver().cuMemAlloc(&pointer_, std::max<std::size_t>(bytes, 1)), "cuMemAlloc");
  }
  StagingBuffer(const StagingBuffer&) = delete;
  StagingBuffer& operator=(const StagingBuffer&) = delete;
  ~StagingBuffer() { detail::driver().cuMemFree(pointer_); }
  CUdeviceptr get() const { return pointer_; }

 private:
  CUdeviceptr pointer_ = 0;
};

void upload(CUdeviceptr destination, std::span<const std::uint8_t> bytes, CUstream stream) {
  detail::check_cu(detail::driver().cuMemcpyHtoDAsync(destination, bytes.data(), bytes.size(), stream),
                   "cuMemcpyHtoDAsync");
}

}  // namespace

LoadedNvfp4Checkpoint load_nvfp4_checkpoint(Runtime& runtime, const Nvfp4Checkpoint& checkpoint, CUstream stream) {
  LoadedNvfp4Checkpoint loaded;
  loaded.quant_config = checkpoint.quant_config();
  loaded.unquantized_modules = checkpoint.unquantized_modules();
  if (checkpoint.layers().empty()) return loaded;
  std::size_t weight_bytes = 0, scale_bytes = 0;
  for (const Nvfp4LayerInfo& layer : checkpoint.layers()) {
    weight_bytes = std::max(weight_bytes, checkpoint.tensor(layer.prefix + ".weight").bytes.size());
    scale_bytes = std::max(scale_bytes, checkpoint.tensor(layer.prefix + ".weight_scale").bytes.size());
  }
  detail::ensure_current_context();
  const StagingBuffer weight_staging(weight_bytes);
  const StagingBuffer scale_staging(scale_bytes);
  for (const Nvfp4LayerInfo& layer : checkpoint.layers()) {
    upload(weight_staging.get(), checkpoint.tensor(layer.prefix + ".weight").bytes, stream);
    upload(scale_staging.get(), checkpoint.tensor(layer.prefix + ".weight_scale").bytes, stream);
    const Nvfp4CheckpointLayer tensors{weight_staging.get(), scale_staging.get(), layer.weight_scale_2, layer.n,
                                       layer.k};
    loaded.layers.emplace(layer.prefix, prepare_nvfp4_linear(runtime, tensors, stream));
    loaded.layer_order.push_back(layer.prefix);
  }
  MARLIN_JIT_LOG_INFO("checkpoint {}: prepared {} NVFP4 layers, {} modules left unquantized",
                      checkpoint.folder().string(), loaded.layers.size(), loaded.unquantized_modules.size());
  return loaded;
}

LoadedNvfp4Checkpoint load_nvfp4_checkpoint(Runtime& runtime, const std::filesystem::path& folder, CUstream stream) {
  return load_nvfp4_checkpoint(runtime, Nvfp4Checkpoint::open(folder), stream);
}

}  // namespace marlin_jit
