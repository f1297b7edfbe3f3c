// Register-level NVFP4 decoding: e2m1 codes and prepared group scales to fp16/bf16 pairs, with bit operations only.
//
// Exactness argument (checked exhaustively on the CPU by tests/unit/ops_nvfp4_layout_test.cpp):
// * An e2m1 code s|e1 e0|m placed with its sign on the lane's sign bit and e1 e0 m at the top of the
//   exponent/mantissa field reads as v·2^-14 in fp16 (v the e2m1 value; exponent bias 15 vs 1) and as v·2^-126
//   in bf16 (bias 127 vs 1). e2m1's subnormal 0.5 lands on fp16/bf16's subnormal encoding with the same factor.
// * A prepared scale byte u holds the fp16 exponent and 3 mantissa bits of |s|·2^7, s the e4m3 block scale:
//   for every finite nonzero e4m3 value |s| ∈ [2^-9, 448], so |s|·2^7 ∈ [2^-2, 57344] is a normal fp16 with
//   exponent field 13..30 and 3 mantissa bits: exact. fp16 = u<<7 gives |s|·2^7; bf16 = (u<<4)|0x7000 gives
//   |s|·2^119 (bf16 exponent field = 224 + fp16's).
// * The product of the two is v·|s|·2^-7 in both dtypes. v·|s| is an integer ≤ 180 times 2^(E-1), E ≥ -9, so the
//   product fits fp16 (11 bits; subnormals down to 2^-24 ≥ 2^-17) and bf16 (8 bits, normal) exactly.
// * The global scale times 2^7 is applied in fp32 in the epilogue. Negative scales are folded into the codes'
//   sign bits and zero scales zero the codes at preparation, so u never encodes a sign or a zero.
#pragma once

#include "marlin_jit/common/numeric.cuh"

namespace marlin_jit::kernels {

// `word` packs 8 e2m1 codes as 4 pairs: pair p's first element in bits [15-4p:12-4p], its second in
// [31-4p:28-4p]. Returns pair p as two fp16/bf16 values v·2^-14 (fp16) or v·2^-126 (bf16).
template <typename T, int Pair>
__device__ __forceinline__ unsigned int decode_e2m1_pair(unsigned int word) {
  const unsigned int aligned = word << (4 * Pair);  // pair's nibbles now at [15:12] and [31:28]
  if constexpr (DTypeTraits<T>::kIsBf16) {
    return (aligned & 0x80008000u) | ((aligned >> 6) & 0x01C001C0u);
  } else {
    return (aligned & 0x80008000u) | ((aligned >> 3) & 0x0E000E00u);
  }
}

// The prepared scales in the even (parity 0) or odd (parity 1) bytes of `word` — bytes 0|2 or 1|3, the columns g
// and g + 8 of one group — as a packed pair: |s|·2^7 in fp16 (u << 7), |s|·2^119 in bf16 ((u << 4) | 0x7000).
// One shift and one masked merge; the MMA operands take either half with a free operand swizzle (scale_half).
template <typename T>
__device__ __forceinline__ unsigned int expand_scale_pair(unsigned int word, int parity) {
  if constexpr (DTypeTraits<T>::kIsBf16) {
    const unsigned int aligned = parity ? word >> 4 : word << 4;
    // (aligned & 0x0FF00FF0) | 0x70007000 as one lop3: written in C++, ptxas splits it into two LOP3s (one
    // immediate each) instead of keeping one constant in a register.
    unsigned int expanded;
    asm("lop3.b32 %0, %1, 0x0FF00FF0, 0x70007000, 0xEA;" : "=r"(expanded) : "r"(aligned));
    return expanded;
  } else {
    const unsigned int aligned = parity ? word >> 1 : word << 7;
    return aligned & 0x7F807F80u;
  }
}

// Half h (0: low, column g; 1: high, column g + 8) of a packed scale pair, in both lanes.
template <typename T>
__device__ __forceinline__ typename DTypeTraits<T>::Pair scale_half(unsigned int pair, int h) {
  const typename DTypeTraits<T>::Pair both = bits_to_pair<typename DTypeTraits<T>::Pair>(pair);
  if constexpr (DTypeTraits<T>::kIsBf16) {
    return h ? __high2bfloat162(both) : __low2bfloat162(both);
  } else {
    return h ? __high2half2(both) : __low2half2(both);
  }
}

}  // namespace marlin_jit::kernels
