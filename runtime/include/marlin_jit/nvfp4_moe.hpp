// Fused NVFP4 mixture-of-experts layers: prepare all experts of a ModelOpt checkpoint layer once, then apply it.
//   out[m] = Σ_{j < topk} topk_weights[m][j] · Expert_{topk_ids[m][j]}(x[m])
//   gated (Activation::silu_gated): Expert(x) = W2 · (silu(W1_gate · x + b1_gate) ⊙ (W1_up · x + b1_up)) + b2
//   non-gated (Activation::relu2):  Expert(x) = W2 · relu(W1 · x + b1)² + b2
// Routing weights: apply multiplies each expert's output (bias included) by topk_weights exactly once. Pass the
// router's final weights (softmax or sigmoid, renormalised, and any routed scaling factor folded in by you): do not
// pre-scale the hidden states or the output by them, and do not fold the scaling factor into both.
// Errors: ConfigError naming the rule (before any launch), CompileError, DriverError.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <cuda.h>

#include "marlin_jit/types.hpp"
#include "marlin_jit/export.h"

// The library's private accessor: declared outside the exported region, defined in runtime/src only.
namespace marlin_jit::detail {
struct PreparedLayerAccess;
}

MARLIN_JIT_API_BEGIN
namespace marlin_jit {

class Runtime;

// Device pointers to one MoE layer's checkpoint tensors, stacked over experts [E, ...] as engines load ModelOpt's
// per-expert tensors (expert e's tensor follows expert e-1's, no gaps).
struct Nvfp4MoeCheckpoint {
  std::int64_t experts = 0;       // E
  std::int64_t hidden = 0;        // H: K of W1, N of W2 (a multiple of 16)
  std::int64_t intermediate = 0;  // I: rows of W1 (2·I when gated), K of W2 (a multiple of 16)
  Activation activation = Activation::silu_gated;
  CUdeviceptr w1 = 0;        // uint8 [E, N1, H/2], N1 = 2·I (gate rows, then up rows) or I
  CUdeviceptr w1_scale = 0;  // float8_e4m3fn [E, N1, H/16]
  std::vector<float> w1_scale_2;  // [E] global scales (host)
  CUdeviceptr w2 = 0;        // uint8 [E, H, I/2]
  CUdeviceptr w2_scale = 0;  // float8_e4m3fn [E, H, I/16]
  std::vector<float> w2_scale_2;  // [E]
  CUdeviceptr w1_bias = 0;   // float32 [E, N1] or 0 (gpt-oss-style checkpoints)
  CUdeviceptr w2_bias = 0;   // float32 [E, H] or 0
};

// The layer in the kernels' layout, in device memory owned by this object (freed on destruction). Independent of
// the activation dtype. Movable, not copyable.
class PreparedNvfp4Moe {
 public:
  PreparedNvfp4Moe(PreparedNvfp4Moe&&) noexcept;
  PreparedNvfp4Moe& operator=(PreparedNvfp4Moe&&) noexcept;
  ~PreparedNvfp4Moe();

  std::int64_t experts() const;
  std::int64_t hidden() const;
  std::int64_t intermediate() const;
  std::int64_t padded_intermediate() const;  // I rounded up to the kernels' granularity (64)
  Activation activation() const;
  int device() const;

 private:
  friend struct detail::PreparedLayerAccess;  // the library makes and reads layers (runtime/src/ops)
  struct Impl;
  explicit PreparedNvfp4Moe(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Converts every expert's W1 and W2 in one batched pass each (JIT preparation kernels) on `stream` and waits:
// NaN scale codes are refused (rule "nvfp4_scale_finite", naming the projection); negative scales are exact. The
// checkpoint buffers may be freed once this returns. Validation (rules moe_experts, moe_activation, shape_*,
// k_multiple_of_group, nvfp4_global_scale_finite) happens before any allocation.
PreparedNvfp4Moe prepare_nvfp4_moe(Runtime& runtime, const Nvfp4MoeCheckpoint& checkpoint, CUstream stream);

struct MoeApplyArgs {
  CUdeviceptr hidden_states = 0;  // [M, H] dtype, 16-byte aligned
  CUdeviceptr topk_ids = 0;       // int32 [M, topk]
  CUdeviceptr topk_weights = 0;   // float32 [M, topk]
  CUdeviceptr output = 0;         // [M, H] dtype, 16-byte aligned; may not alias hidden_states
  std::int64_t m = 0;
  int topk = 1;
  DType dtype = DType::bf16;
};

// Enqueues the layer on `stream`. Validates through the dispatcher first (ConfigError before any launch; M = 0 is a
// no-op). Routing ids outside [0, E) are not read as experts: that (token, j) contributes exactly zero, and the ids
// are counted per stream; the next apply on that stream (or moe_routing_errors) reports them.
// Deterministic: the same inputs give the same bits on every call and graph replay (no float atomics).
// Scratch is per stream and sized for the worst routing of (M, topk): run each M once eagerly on a stream before
// capturing it in a CUDA graph (growing during capture is refused with ConfigError "workspace_during_capture").
// Throws ConfigError "moe_topk_ids_range" at the start of a call when an earlier call on this stream, now finished,
// met out-of-range ids (the count is then reset).
void apply_nvfp4_moe(Runtime& runtime, const PreparedNvfp4Moe& layer, const MoeApplyArgs& args, CUstream stream);

// Out-of-range routing ids met by finished calls on `stream` since the last report; resets the count. Waits for
// the stream. Not for use inside graph capture.
std::uint64_t moe_routing_errors(CUstream stream);

}  // namespace marlin_jit
MARLIN_JIT_API_END
