// Global→shared copies of one pipeline stage (weights, scales, activations) with cp.async. Each thread keeps one
// source pointer per kind, the strides between its copies and a validity bit per copy, all computed once in the
// constructor: its j-th copy of a kind sits a compile-time multiple of a stride further on, so a stage costs an
// address add, a predicate and one cp.async per 16-byte chunk. (Computing addresses per stage with divisions made
// integer arithmetic outnumber the MMAs 100:1, and converting generic shared pointers per copy cost six more
// instructions a copy — see bench/NOTES.md, v3 and v6.)
// Invalid chunks (columns past the padded N, rows past M) are not copied at all: a column of B only reaches the
// same output column and a row of A the same output row, and those are never stored, so whatever the shared
// memory holds there is harmless (at M = 1 this skips 15 of 16 activation copies). Activation columns past the
// logical K (the prepared weights are padded to a multiple of 64 with zero codes) are zero-filled instead: a zero
// weight times stale shared memory could be 0 · NaN.
// Gather (grouped MoE GEMMs): row r of the tile reads A's row sorted_rows[r] / gather_divisor, one pointer per copy.
// No L2 eviction hint: with createpolicy + .L2::cache_hint, t128m4n4k8s5 faulted with illegal instructions on an
// H100 and the hint-free copies measured faster (bench/NOTES.md, v3).
#pragma once

#include "marlin_jit/common/ptx.cuh"
#include "marlin_jit/gemm/gemm_params.cuh"
#include "marlin_jit/gemm/nvfp4_layout.cuh"

namespace marlin_jit::kernels {

// Chunks [0, Count) of 16 bytes, in rows of RowChunks, spread over Threads threads: thread t takes t, t + Threads,
// ... Rows and thread counts are powers of two, so a thread's chunks either stay inside one row (Threads <
// RowChunks) or step over whole rows (Threads >= RowChunks).
template <int Count, int Threads, int RowChunks>
struct ChunkSpread {
  static constexpr int kIterations = (Count + Threads - 1) / Threads;
  static constexpr int kItersPerRow = RowChunks > Threads ? RowChunks / Threads : 1;
  static constexpr int kRowsPerIter = Threads > RowChunks ? Threads / RowChunks : 1;
  static_assert(RowChunks % Threads == 0 || Threads % RowChunks == 0, "rows and threads nest");
  __device__ static bool owns(int iteration) {
    return Count % Threads == 0 || static_cast<int>(threadIdx.x) + iteration * Threads < Count;
  }
  __device__ static int chunk(int iteration) { return static_cast<int>(threadIdx.x) + iteration * Threads; }
  __device__ static int row(int iteration) { return chunk(iteration) / RowChunks; }
  // Offset (in chunks) of this iteration's source from iteration 0's, given the distance between rows.
  __device__ static long long source_offset(int iteration, long long row_stride) {
    return static_cast<long long>(iteration / kItersPerRow) * kRowsPerIter * row_stride +
           (iteration % kItersPerRow) * Threads;
  }
};

template <typename Pointer>
__device__ __forceinline__ void pin_in_register(Pointer*& pointer) {
  asm volatile("" : "+l"(pointer));
}

template <typename T, typename Shape, bool Gather = false>
struct TileLoader {
  // Weights and scales: per column block of the tile, kKChunks atoms contiguous in the prepared layout.
  static constexpr int kWeightChunksPerColumn = Shape::kKChunks * nvfp4_layout::kWeightAtomBytes / 16;
  static constexpr int kScaleChunksPerColumn = Shape::kKChunks * nvfp4_layout::kScaleAtomBytes / 16;
  using WeightSpread = ChunkSpread<Shape::kNBlocks * kWeightChunksPerColumn, Shape::kThreads, kWeightChunksPerColumn>;
  using ScaleSpread = ChunkSpread<Shape::kNBlocks * kScaleChunksPerColumn, Shape::kThreads, kScaleChunksPerColumn>;
  // Activations: kTileM rows of kActivationRowChunks chunks, XOR-swizzled by row so ldmatrix is conflict-free.
  using ActivationSpread =
      ChunkSpread<Shape::kTileM * Shape::kActivationRowChunks, Shape::kThreads, Shape::kActivationRowChunks>;

  const uint4* weight_source;      // this thread's first chunk in the next K tile to load
  const uint4* scale_source;
  const uint4* activation_source;   // dense: this thread's first chunk of A in the next K tile
  const uint4* activation_rows[Gather ? ActivationSpread::kIterations : 1];  // gather: the same, per copy
  long long weight_column_stride;   // chunks between consecutive column blocks' streams
  long long scale_column_stride;
  long long activation_row_stride;  // chunks between consecutive rows of A
  int activation_chunks_left;       // chunks of an A row from the next K tile's first on (past them: zero-fill)
  unsigned int valid_mask = 0;      // bit per (kind, iteration): column block inside padded N, row inside M

  static constexpr int kScaleBit = WeightSpread::kIterations;
  static constexpr int kActivationBit = kScaleBit + ScaleSpread::kIterations;
  static_assert(kActivationBit + ActivationSpread::kIterations <= 32, "valid bits fit one word");

  __device__ TileLoader(const GemmParams& p, int m_chunk, int n_tile, int first_k_tile) {
    const long long k_chunks_total = p.k_padded / nvfp4_layout::kKChunk;
    const int column_blocks = p.n_padded / 16;
    const int first_column = n_tile * Shape::kNBlocks;
    weight_column_stride = k_chunks_total * (nvfp4_layout::kWeightAtomBytes / 16);
    scale_column_stride = k_chunks_total * (nvfp4_layout::kScaleAtomBytes / 16);
    activation_row_stride = p.k / 8;
    const int t = static_cast<int>(threadIdx.x);
    weight_source = reinterpret_cast<const uint4*>(p.weights) + (first_column + t / kWeightChunksPerColumn) *
                    weight_column_stride + t % kWeightChunksPerColumn;
    scale_source = reinterpret_cast<const uint4*>(p.scales) + (first_column + t / kScaleChunksPerColumn) *
                   scale_column_stride + t % kScaleChunksPerColumn;
    activation_source = reinterpret_cast<const uint4*>(p.a) +
                        (m_chunk * Shape::kTileM + t / Shape::kActivationRowChunks) * activation_row_stride +
                        t % Shape::kActivationRowChunks;
    activation_chunks_left = p.k / 8 - first_k_tile * Shape::kActivationRowChunks;
    // Opaque to the optimizer from here on: without this, ptxas re-derives each pointer from the kernel parameters
    // and threadIdx at every copy (a constant load, S2R and four address ops per copy) instead of keeping it.
    weight_source += first_k_tile * kWeightChunksPerColumn;
    scale_source += first_k_tile * kScaleChunksPerColumn;
    activation_source += first_k_tile * Shape::kActivationRowChunks;
    pin_in_register(weight_source);
    pin_in_register(scale_source);
    pin_in_register(activation_source);
#pragma unroll
    for (int j = 0; j < WeightSpread::kIterations; ++j) {
      valid_mask |= (WeightSpread::owns(j) && first_column + WeightSpread::row(j) < column_blocks ? 1u : 0u) << j;
    }
#pragma unroll
    for (int j = 0; j < ScaleSpread::kIterations; ++j) {
      valid_mask |= (ScaleSpread::owns(j) && first_column + ScaleSpread::row(j) < column_blocks ? 1u : 0u)
                    << (kScaleBit + j);
    }
#pragma unroll
    for (int j = 0; j < ActivationSpread::kIterations; ++j) {
      bool row_valid;
      if constexpr (Gather) {
        const int slot = ActivationSpread::owns(j) ? p.sorted_rows[m_chunk * Shape::kTileM + ActivationSpread::row(j)]
                                                   : p.slots;
        row_valid = slot < p.slots;
        activation_rows[j] = reinterpret_cast<const uint4*>(p.a) +
                             (row_valid ? slot / p.gather_divisor : 0) * activation_row_stride +
                             column_chunk(j) + first_k_tile * Shape::kActivationRowChunks;
        pin_in_register(activation_rows[j]);
      } else {
        row_valid = ActivationSpread::owns(j) && m_chunk * Shape::kTileM + ActivationSpread::row(j) < p.m;
      }
      valid_mask |= (row_valid ? 1u : 0u) << (kActivationBit + j);
    }
    asm volatile("" : "+r"(valid_mask));  // keep the bits: re-deriving them costs a compare per copy
  }

  // Copies this thread's activation chunks of the next K tile; ZeroFill: chunks past the logical K read as zeros.
  template <bool ZeroFill>
  __device__ __forceinline__ void load_activations(unsigned int activations) {
#pragma unroll
    for (int j = 0; j < ActivationSpread::kIterations; ++j) {
      if (valid(kActivationBit + j)) {
        const int i = ActivationSpread::chunk(j);
        const int r = i / Shape::kActivationRowChunks, chunk = i % Shape::kActivationRowChunks;
        const unsigned int target = activations + (r * Shape::kActivationRowChunks + (chunk ^ (r & 7))) * 16;
        const uint4* source;
        if constexpr (Gather) {
          source = activation_rows[j];
        } else {
          source = activation_source + ActivationSpread::source_offset(j, activation_row_stride);
        }
        if constexpr (ZeroFill) {
          cp_async16_zfill(target, source, chunk < activation_chunks_left ? 16 : 0);
        } else {
          cp_async16(target, source);
        }
      }
    }
  }

  // The chunk of its row (in 16-byte units) that copy j of this thread reads.
  __device__ static int column_chunk(int j) { return ActivationSpread::chunk(j) % Shape::kActivationRowChunks; }

  __device__ bool valid(int bit) const { return (valid_mask >> bit) & 1u; }

  // Copies the next K tile (the first_k_tile given at construction, then one further per call) into the stage at
  // shared-window address `stage`.
  __device__ void load_next(unsigned int stage) {
    const unsigned int thread_offset = threadIdx.x * 16;
#pragma unroll
    for (int j = 0; j < WeightSpread::kIterations; ++j) {
      if (valid(j)) {
        cp_async16(stage + thread_offset + j * Shape::kThreads * 16,
                   weight_source + WeightSpread::source_offset(j, weight_column_stride));
      }
    }
    const unsigned int scales = stage + Shape::kWeightBytes;
#pragma unroll
    for (int j = 0; j < ScaleSpread::kIterations; ++j) {
      if (valid(kScaleBit + j)) {
        cp_async16(scales + thread_offset + j * Shape::kThreads * 16,
                   scale_source + ScaleSpread::source_offset(j, scale_column_stride));
      }
    }
    const unsigned int activations = scales + Shape::kScaleBytes;
    // Dense: only a K tile that reaches past the logical K zero-fills, a test per stage rather than per copy (a
    // compare and a register operand per copy cost 12% at M = 64 on an H200). Gather: the zero-fill test per copy,
    // since two copies of the loop raised the grouped kernels from 126 to 158 registers (bench/NOTES.md v9).
    if (Gather || activation_chunks_left < Shape::kActivationRowChunks) {
      load_activations<true>(activations);
    } else {
      load_activations<false>(activations);
    }
    weight_source += kWeightChunksPerColumn;
    scale_source += kScaleChunksPerColumn;
    activation_chunks_left -= Shape::kActivationRowChunks;
    if constexpr (Gather) {
#pragma unroll
      for (int j = 0; j < ActivationSpread::kIterations; ++j) activation_rows[j] += Shape::kActivationRowChunks;
    } else {
      activation_source += Shape::kActivationRowChunks;
    }
  }
};

}  // namespace marlin_jit::kernels
