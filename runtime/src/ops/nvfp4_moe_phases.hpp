// apply_nvfp4_moe with a hook between its phases ("align", "gemm1", "gemm2", "sum"), for benchmarks that time
// each phase with events on the stream. Not public API: the phases are an implementation detail.
#pragma once

#include <functional>

#include "marlin_jit/nvfp4_moe.hpp"

namespace marlin_jit::ops {

struct MoePhaseOptions {
  // GEMM1 stores raw rows and a separate kernel applies the activation (phases align, gemm1, activation, gemm2,
  // sum): what the fused epilogue is measured against (bench_moe --separate-activation, bench/NOTES.md v10).
  // Layers without a W1 bias only.
  bool separate_activation = false;
};

// Calls after_phase(name) on the calling thread right after enqueuing each phase (never inside a kernel).
void apply_nvfp4_moe_phased(Runtime& runtime, const PreparedNvfp4Moe& layer, const MoeApplyArgs& args,
                            CUstream stream, const std::function<void(const char* phase)>& after_phase,
                            const MoePhaseOptions& options = {});

}  // namespace marlin_jit::ops
