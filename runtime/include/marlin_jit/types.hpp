// Vocabulary types of the public API: activation dtypes, quant types, kernel kinds and tile configurations.
// Names match the spec grammar (README "Kernel specs"): to_string/parse round-trip exactly.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "marlin_jit/export.h"

MARLIN_JIT_API_BEGIN
namespace marlin_jit {

enum class DType { fp16, bf16 };

// float4_e2m1f with e4m3 scales (nvfp4) or e8m0 scales (mxfp4); GPTQ uint4b8; AWQ uint4 (zero points); uint8b128.
enum class QuantType { nvfp4, mxfp4, uint4b8, uint4, uint8b128 };

enum class KernelKind { dense, moe, prep };

// MoE expert activation: gated silu(gate)*up, or non-gated relu(x)^2.
enum class Activation { none, silu_gated, relu2 };

// One Marlin-style tile: a thread block of `threads` covers 16*m_blocks rows, 16*n_blocks columns and walks K in
// steps of 16*k_blocks through a `stages`-deep cp.async pipeline.
struct TileConfig {
  int threads = 256;
  int m_blocks = 1;
  int n_blocks = 8;
  int k_blocks = 8;
  int stages = 4;
  int tile_n() const { return 16 * n_blocks; }
  int tile_k() const { return 16 * k_blocks; }
  int tile_m() const { return 16 * m_blocks; }
  bool operator==(const TileConfig&) const = default;
};

std::string to_string(DType);
std::string to_string(QuantType);
std::string to_string(KernelKind);
std::string to_string(Activation);
std::string to_string(const TileConfig&);  // "t256m1n8k8s4"

std::optional<DType> parse_dtype(std::string_view);
std::optional<QuantType> parse_quant_type(std::string_view);
std::optional<KernelKind> parse_kernel_kind(std::string_view);
std::optional<Activation> parse_activation(std::string_view);
std::optional<TileConfig> parse_tile_config(std::string_view);

}  // namespace marlin_jit
MARLIN_JIT_API_END
