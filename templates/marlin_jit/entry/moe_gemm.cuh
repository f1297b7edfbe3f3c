// Kernel entry for the grouped MoE GEMMs: the dense mainloop over gathered rows, one expert per M block.
//   moe_gemm<T, nvfp4, 16, Epilogue, Threads, MBlocks, NBlocks, KBlocks, Stages>
// Grid: (the shape's worst-case count of M blocks, N tiles, K splits); blocks whose block_experts entry is negative
// (past the routed total) return at once, so one grid serves every routing of the shape, inside CUDA graphs too.
// Dynamic shared memory TileShape::kSharedBytes. With K splits, the last split of a tile sums the partials in split
// order before the epilogue (gather_moe_splits).
#pragma once

#include "marlin_jit/common/quant_kind.cuh"
#include "marlin_jit/epilogue/moe_store.cuh"
#include "marlin_jit/gemm/mainloop.cuh"

namespace marlin_jit::kernels {

template <typename T, QuantKind Quant, int GroupSize, MoeEpilogue Epilogue, int Threads, int MBlocks, int NBlocks,
          int KBlocks, int Stages>
__global__ void __launch_bounds__(Threads) moe_gemm(const GemmParams params) {
  static_assert(Quant == QuantKind::nvfp4 && GroupSize == 16, "only NVFP4 (group 16) kernels are implemented");
  using Shape = TileShape<Threads, MBlocks, NBlocks, KBlocks, Stages>;
  const int expert = params.block_experts[blockIdx.x];
  if (expert < 0) return;
  GemmParams expert_params = params;
  expert_params.weights += expert * params.expert_weight_words;
  expert_params.scales += expert * params.expert_scale_bytes;
  extern __shared__ __align__(16) unsigned char shared[];
  Nvfp4Mainloop<T, Shape, true> mainloop(expert_params, shared);
  mainloop.run();
  if (!gather_moe_splits<Shape>(params, mainloop)) return;
  store_moe_tile<T, Epilogue, Shape>(params, mainloop, expert);
}

}  // namespace marlin_jit::kernels
