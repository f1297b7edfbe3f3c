// Finds the quantized linear layers of a tensor table (a `<prefix>.weight` with a `<prefix>.weight_scale`) and the
// unquantized modules, and checks each layer's tensors: dtypes, shapes, scalar global scales, and the dispatcher's
// rules for the layer's N and K. Per-expert MoE tensors (`...experts.<e>.w1.weight`, `gate_proj`, ...) are layers
// like any other.
#pragma once

#include <string>
#include <vector>

#include "checkpoint/tensor_table.hpp"
#include "marlin_jit/checkpoint.hpp"

namespace marlin_jit::checkpoint {

struct CollectedLayers {
  std::vector<Nvfp4LayerInfo> layers;             // natural name order
  std::vector<UnquantizedModule> unquantized;     // natural name order
};

// Throws ConfigError naming the tensor: rule nvfp4_tensor_missing (a weight_scale without its weight or
// weight_scale_2, a U8 weight without weight_scale), nvfp4_tensor_dtype, nvfp4_tensor_shape, and the dispatcher's
// shape_positive / shape_range / k_multiple_of_group / nvfp4_global_scale_finite.
CollectedLayers collect_layers(const TensorTable& tensors, const Nvfp4QuantConfig& config);

// Orders names as a person would: digit runs compare as numbers ("layers.2" < "layers.10").
bool natural_less(const std::string& a, const std::string& b);

}  // namespace marlin_jit::checkpoint
