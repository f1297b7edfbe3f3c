// The canonical one-line name of a kernel instantiation, which every CLI command prints and accepts:
//   dense/<quant>/<dtype>/g<group>/sm_<NN>/<tile>                e.g. dense/nvfp4/bf16/g16/sm_90/t256m1n8k8s4
//   moe/<quant>/<dtype>/g<group>/<activation>/sm_<NN>/<tile>     activation: silu_gated | relu2 (GEMM1 with that
//                                                                activation fused) | none (GEMM2, top-k weighted)
//   prep/<quant>/<op>/sm_<NN>                                    op: [a-z0-9_]+, e.g. repack, scales, dequant_bf16
// <group> is a decimal or -1 (per channel); <tile> is t<threads>m<m>n<n>k<k>s<stages>. Strings round-trip exactly.
#pragma once

#include <string>
#include <string_view>

#include "marlin_jit/types.hpp"
#include "marlin_jit/export.h"

MARLIN_JIT_API_BEGIN
namespace marlin_jit {

// Fields a kind does not name (prep: dtype, group_size, tile, activation; dense: activation, prep_op) keep their
// defaults; to_string ignores them.
struct KernelSpec {
  KernelKind kind = KernelKind::dense;
  QuantType quant = QuantType::nvfp4;
  DType dtype = DType::bf16;
  int group_size = 16;
  int sm = 90;
  TileConfig tile{};
  Activation activation = Activation::none;
  std::string prep_op;
  bool operator==(const KernelSpec&) const = default;
};

std::string to_string(const KernelSpec& spec);

// Throws ConfigError (rule "spec_grammar", value = the offending part) for anything the grammar does not accept.
// Checks only the grammar; dispatcher rules (SM range, group sizes) are check_supported's job.
KernelSpec parse_kernel_spec(std::string_view text);

}  // namespace marlin_jit
MARLIN_JIT_API_END
