// The MoE activation as its own kernel, for measuring the fused GEMM1 epilogue against it (bench_moe
// --separate-activation; bench/NOTES.md v10). GEMM1 stores its raw rows (global scale applied, no activation), then:
//   gated:     out[s][i] = silu(raw[s][gate(i)]) · raw[s][gate(i) + 16], gate(i) = 32·(i / 16) + i % 16 (the prepared
//              W1 interleaves gate and up by 16-row blocks, so its raw output does too);
//   non-gated: out[s][i] = max(raw[s][i], 0)².
// One block per slot row; columns (the padded I) are even. Rows of unrouted slots are transformed too (GEMM2 never
// reads them).
#pragma once

#include "marlin_jit/common/numeric.cuh"

namespace marlin_jit::kernels {

template <typename T, bool Gated>
__global__ void moe_activation(const T* raw, int raw_stride, T* out, int out_stride, int columns) {
  using Pair = typename DTypeTraits<T>::Pair;
  const T* raw_row = raw + static_cast<long long>(blockIdx.x) * raw_stride;
  T* out_row = out + static_cast<long long>(blockIdx.x) * out_stride;
  for (int c = static_cast<int>(threadIdx.x) * 2; c < columns; c += static_cast<int>(blockDim.x) * 2) {
    float v[2];
    if constexpr (Gated) {
      const int gate = (c / 16) * 32 + c % 16;
      const Pair g = *reinterpret_cast<const Pair*>(raw_row + gate);
      const Pair u = *reinterpret_cast<const Pair*>(raw_row + gate + 16);
      const float gates[2] = {DTypeTraits<T>::to_float(g.x), DTypeTraits<T>::to_float(g.y)};
      const float ups[2] = {DTypeTraits<T>::to_float(u.x), DTypeTraits<T>::to_float(u.y)};
#pragma unroll
      for (int e = 0; e < 2; ++e) v[e] = gates[e] / (1.0f + __expf(-gates[e])) * ups[e];
    } else {
      const Pair x = *reinterpret_cast<const Pair*>(raw_row + c);
      const float xs[2] = {DTypeTraits<T>::to_float(x.x), DTypeTraits<T>::to_float(x.y)};
#pragma unroll
      for (int e = 0; e < 2; ++e) v[e] = fmaxf(xs[e], 0.0f) * fmaxf(xs[e], 0.0f);
    }
    *reinterpret_cast<Pair*>(out_row + c) = DTypeTraits<T>::pair_from_floats(v[0], v[1]);
  }
}

}  // namespace marlin_jit::kernels
