// Thin wrappers over the PTX the Marlin mainloop needs (SM80+): cp.async with zero-fill,
// ldmatrix, and the m16n8k16 tensor-core MMA in fp16 and bf16 with fp32 accumulation.
#pragma once

#include "marlin_jit/common/numeric.cuh"

namespace marlin_jit::kernels {

__device__ __forceinline__ unsigned int smem_address(const void* pointer) {
  return static_cast<unsigned int>(__cvta_generic_to_shared(pointer));
}

// Copies 16 bytes global→shared asynchronously; `smem` is a shared-window address (smem_address), so a caller
// that keeps it in a register pays no generic-to-shared conversion per copy.
__device__ __forceinline__ void cp_async16(unsigned int smem, const void* global) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem), "l"(global));
}

// As cp_async16, but copies only the first `source_bytes` (0 or 16) and zero-fills the rest: K columns past the
// activations' end read as exact zeros without touching memory past the row.
__device__ __forceinline__ void cp_async16_zfill(unsigned int smem, const void* global, int source_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem), "l"(global), "r"(source_bytes));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

template <int Pending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending));
}

// Four 8x8 b16 matrices; lane i supplies the row address (shared window) of matrix i/8, row i%8.
__device__ __forceinline__ void ldmatrix_x4(unsigned int (&frag)[4], unsigned int smem_row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(frag[0]), "=r"(frag[1]), "=r"(frag[2]), "=r"(frag[3])
               : "r"(smem_row));
}

// D = A·B + D for one 16x8x16 step; A row-major fragment (4 regs), B column fragment (2 regs), D fp32 (4 regs).
template <typename T>
__device__ __forceinline__ void mma_m16n8k16(float (&d)[4], const unsigned int (&a)[4], unsigned int b0,
                                             unsigned int b1) {
  if constexpr (DTypeTraits<T>::kIsBf16) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

}  // namespace marlin_jit::kernels
