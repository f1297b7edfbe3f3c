// Kernel entry for dense W4A16 GEMM: out[M,N] = A[M,K]·dequant(W)[N,K]ᵀ (+ bias). The runtime instantiates it by
// name expression, e.g. dense_gemm<__nv_bfloat16, QuantKind::nvfp4, 16, 256, 1, 8, 8, 4>.
// Grid: (M chunks of 16·MBlocks rows, N tiles of 16·NBlocks columns, K splits); dynamic shared memory
// TileShape::kSharedBytes.
#pragma once

#include "marlin_jit/common/quant_kind.cuh"
#include "marlin_jit/epilogue/store.cuh"
#include "marlin_jit/gemm/mainloop.cuh"

namespace marlin_jit::kernels {

template <typename T, QuantKind Quant, int GroupSize, int Threads, int MBlocks, int NBlocks, int KBlocks, int Stages>
__global__ void __launch_bounds__(Threads) dense_gemm(const GemmParams params) {
  static_assert(Quant == QuantKind::nvfp4 && GroupSize == 16, "only NVFP4 (group 16) kernels are implemented");
  using Shape = TileShape<Threads, MBlocks, NBlocks, KBlocks, Stages>;
  extern __shared__ __align__(16) unsigned char shared[];
  Nvfp4Mainloop<T, Shape> mainloop(params, shared);
  mainloop.run();
  store_tile<T, Shape>(params, mainloop);
}

}  // namespace marlin_jit::kernels
