// Layer discovery and per-layer checks. The tensors are the truth: a weight with a weight_scale is quantized, one
// without is not (and is reported); the exclude list only labels the unquantized ones. Shape and global-scale rules
// are the dispatcher's, asked here so that a bad layer is refused before any GPU work.
#include "checkpoint/layer_collector.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "checkpoint/quant_config.hpp"
#include "dispatch/operand_rules.hpp"
#include "internal/log.hpp"
#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit::checkpoint {
namespace {

constexpr std::string_view kWeight = ".weight";
constexpr std::string_view kWeightScale = ".weight_scale";
constexpr std::string_view kWeightScale2 = ".weight_scale_2";
constexpr std::string_view kInputScale = ".input_scale";

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

const TensorRecord* find(const TensorTable& tensors, const std::string& name) {
  const auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &it->second;
}

[[noreturn]] void refuse_missing(const std::string& missing, const std::string& because) {
  throw ConfigError("nvfp4_tensor_missing", missing, "present",
                    "tensor '" + missing + "' is missing, but " + because);
}

void check_dtype(const std::string& name, const TensorRecord& tensor, std::string_view expected) {
  if (tensor.header.dtype.name == expected) return;
  throw ConfigError("nvfp4_tensor_dtype", std::string(tensor.header.dtype.name), std::string(expected),
                    "tensor '" + name + "' has dtype " + std::string(tensor.header.dtype.name) + ", NVFP4 needs " +
                        std::string(expected));
}

[[noreturn]] void refuse_shape(const std::string& name, const std::vector<std::int64_t>& shape,
                               const std::string& expected) {
  throw ConfigError("nvfp4_tensor_shape", shape_text(shape), expected,
                    "tensor '" + name + "' has shape " + shape_text(shape) + ", expected " + expected);
}

// A float32 scalar (shape [] or [1]).
float read_scalar(const std::string& name, const TensorRecord& tensor) {
  check_dtype(name, tensor, "F32");
  const auto& shape = tensor.header.shape;
  if (!(shape.empty() || (shape.size() == 1 && shape[0] == 1))) refuse_shape(name, shape, "[] or [1] (a scalar)");
  float value;
  std::memcpy(&value, tensor.bytes.data(), sizeof value);  // safetensors is little-endian, as are our hosts
  return value;
}

// Asks the dispatcher about N and K, and names the tensor in its refusal.
void check_layer_rules(const Nvfp4LayerInfo& layer) {
  try {
    ProblemSpec problem;
    problem.m = 1;
    problem.n = layer.n;
    problem.k = layer.k;
    check_shape(problem);
    dispatch::check_global_scale(layer.prefix + std::string(kWeightScale2), layer.weight_scale_2);
  } catch (const ConfigError& error) {
    throw ConfigError(error.rule(), error.value(), error.allowed(),
                      "layer '" + layer.prefix + "' (N " + std::to_string(layer.n) + ", K " +
                          std::to_string(layer.k) + "): " + error.what());
  }
}

Nvfp4LayerInfo check_layer(const TensorTable& tensors, const std::string& prefix) {
  const std::string weight_name = prefix + std::string(kWeight);
  const std::string scale_name = prefix + std::string(kWeightScale);
  const std::string scale2_name = prefix + std::string(kWeightScale2);
  const TensorRecord* weight = find(tensors, weight_name);
  const TensorRecord* scale = find(tensors, scale_name);
  const TensorRecord* scale2 = find(tensors, scale2_name);
  if (weight == nullptr) refuse_missing(weight_name, "'" + scale_name + "' is present");
  if (scale2 == nullptr) refuse_missing(scale2_name, "'" + scale_name + "' is present (NVFP4 needs both scales)");
  check_dtype(weight_name, *weight, "U8");
  check_dtype(scale_name, *scale, "F8_E4M3");
  const auto& weight_shape = weight->header.shape;
  if (weight_shape.size() != 2 || weight_shape[1] > kMaxDimension) {
    refuse_shape(weight_name, weight_shape, "[N, K/2] (two e2m1 codes a byte, K <= 2^31 - 1)");
  }
  Nvfp4LayerInfo layer;
  layer.prefix = prefix;
  layer.n = weight_shape[0];
  layer.k = weight_shape[1] * 2;
  const std::vector<std::int64_t> expected_scale = {layer.n, layer.k / kNvfp4GroupSize};
  if (scale->header.shape != expected_scale || layer.k % kNvfp4GroupSize != 0) {
    refuse_shape(scale_name, scale->header.shape,
                 shape_text(expected_scale) + " = [N, K/16] for weight " + shape_text(weight_shape));
  }
  layer.weight_scale_2 = read_scalar(scale2_name, *scale2);
  const std::string input_scale_name = prefix + std::string(kInputScale);
  if (const TensorRecord* input_scale = find(tensors, input_scale_name)) {
    layer.input_scale = read_scalar(input_scale_name, *input_scale);
  }
  check_layer_rules(layer);
  return layer;
}

}  // namespace

bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool digit_a = std::isdigit(static_cast<unsigned char>(a[i])) != 0;
    const bool digit_b = std::isdigit(static_cast<unsigned char>(b[j])) != 0;
    if (digit_a && digit_b) {
      std::size_t end_a = i, end_b = j;
      while (end_a < a.size() && std::isdigit(static_cast<unsigned char>(a[end_a]))) ++end_a;
      while (end_b < b.size() && std::isdigit(static_cast<unsigned char>(b[end_b]))) ++end_b;
      const std::string_view run_a = std::string_view(a).substr(i, end_a - i);
      const std::string_view run_b = std::string_view(b).substr(j, end_b - j);
      const auto trimmed_a = run_a.substr(std::min(run_a.find_first_not_of('0'), run_a.size()));
      const auto trimmed_b = run_b.substr(std::min(run_b.find_first_not_of('0'), run_b.size()));
      if (trimmed_a.size() != trimmed_b.size()) return trimmed_a.size() < trimmed_b.size();
      if (trimmed_a != trimmed_b) return trimmed_a < trimmed_b;
      i = end_a;
      j = end_b;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j || (a.size() - i == b.size() - j && a < b);
}

CollectedLayers collect_layers(const TensorTable& tensors, const Nvfp4QuantConfig& config) {
  CollectedLayers result;
  for (const auto& [name, record] : tensors) {
    if (ends_with(name, kWeightScale)) {
      Nvfp4LayerInfo layer = check_layer(tensors, name.substr(0, name.size() - kWeightScale.size()));
      if (is_excluded(layer.prefix, config.exclude_modules)) {
        MARLIN_JIT_LOG_WARN("checkpoint: layer '{}' matches exclude_modules but is stored as NVFP4; loading it "
                            "as NVFP4", layer.prefix);
      }
      result.layers.push_back(std::move(layer));
    } else if (ends_with(name, kWeightScale2)) {
      const std::string prefix = name.substr(0, name.size() - kWeightScale2.size());
      if (find(tensors, prefix + std::string(kWeightScale)) == nullptr) {
        refuse_missing(prefix + std::string(kWeightScale), "'" + name + "' is present");
      }
    } else if (ends_with(name, kWeight)) {
      const std::string prefix = name.substr(0, name.size() - kWeight.size());
      if (find(tensors, prefix + std::string(kWeightScale)) != nullptr) continue;
      if (record.header.dtype.name == "U8") {
        refuse_missing(prefix + std::string(kWeightScale), "'" + name + "' is U8 (packed NVFP4 codes)");
      }
      result.unquantized.push_back({prefix, std::string(record.header.dtype.name), record.header.shape,
                                    is_excluded(prefix, config.exclude_modules)});
    }
  }
  std::sort(result.layers.begin(), result.layers.end(),
            [](const auto& a, const auto& b) { return natural_less(a.prefix, b.prefix); });
  std::sort(result.unquantized.begin(), result.unquantized.end(),
            [](const auto& a, const auto& b) { return natural_less(a.prefix, b.prefix); });
  return result;
}

}  // namespace marlin_jit::checkpoint
