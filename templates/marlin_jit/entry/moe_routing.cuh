// Kernels around the grouped MoE GEMMs: token alignment (routing → per-expert runs of slots padded to the GEMM's
// M block) and the top-k sum (GEMM2's weighted slot rows → one output row per token, in slot order).
// A slot is a (token, k) pair, numbered token·topk + k. Routing ids outside [0, experts) are counted in
// *invalid_ids and take no part: they are placed nowhere, so no GEMM reads a row or an expert for them, and
// moe_sum skips them (their contribution is exactly zero). Host side: runtime/src/ops/nvfp4_moe.cpp.
#pragma once

#include "marlin_jit/common/numeric.cuh"

namespace marlin_jit::kernels {

constexpr int kAlignThreads = 1024;
constexpr int kAlignMaxExperts = 1024;

// The lanes of this warp (of those in `active`) holding the same `key`, and this lane's rank among them:
// one shared-memory atomic per distinct key and warp instead of one per lane (all tokens on one expert would
// otherwise serialise 1024 atomics on one address).
struct KeyPeers {
  unsigned int lanes;  // the lanes holding the same key
  int rank;            // this lane's rank among them
  int count;
};
__device__ __forceinline__ KeyPeers warp_peers_of_key(int key, unsigned int active) {
  const unsigned int same = __match_any_sync(active, key);
  const unsigned int lane_below = (1u << (threadIdx.x % 32)) - 1u;
  return {same, __popc(same & lane_below), __popc(same)};
}

// Inclusive prefix sum of values[0, count) in place, count <= blockDim.x (Hillis-Steele over shared memory).
__device__ void block_inclusive_scan(int* values, int count) {
  for (int offset = 1; offset < count; offset *= 2) {
    const int i = static_cast<int>(threadIdx.x);
    const int add = i < count && i >= offset ? values[i - offset] : 0;
    __syncthreads();
    if (i < count) values[i] += add;
    __syncthreads();
  }
}

// Writes the stable position of every valid slot of one chunk of blockDim.x consecutive slots (slot base + t):
// slots of an expert land in slot order, so the routing tables are the same bits on every launch. Within a warp the
// rank comes from the lanes holding the same expert; across warps from warp_counts, the per-warp count of each
// expert (a byte: at most 32). Three barriers per chunk; every thread of the block must call it.
__device__ void place_chunk_stably(const int* topk_ids, int base, int slots, int experts, int* cursor,
                                   unsigned char (*warp_counts)[kAlignMaxExperts], int* sorted_rows) {
  const int t = static_cast<int>(threadIdx.x), warp = t / 32;
  const int s = base + t;
  const unsigned int active = __ballot_sync(0xFFFFFFFFu, s < slots);
  const int expert = s < slots ? topk_ids[s] : -1;
  const bool valid = expert >= 0 && expert < experts;
  KeyPeers peers{0u, 0, 0};
  if (s < slots) peers = warp_peers_of_key(valid ? expert : -1, active);
  const bool leader = valid && peers.rank == 0;
  if (leader) warp_counts[warp][expert] = static_cast<unsigned char>(peers.count);
  __syncthreads();
  if (valid) {
    int position = cursor[expert] + peers.rank;
    for (int w = 0; w < warp; ++w) position += warp_counts[w][expert];
    sorted_rows[position] = s;
  }
  __syncthreads();  // every lane has read cursor and warp_counts
  if (leader) {
    atomicAdd(&cursor[expert], peers.count);  // a sum: the same result in any order
    warp_counts[warp][expert] = 0;
  }
  __syncthreads();
}

// One block of kAlignThreads. Outputs, all fully written on every launch (the buffers can be reused across
// launches and graph replays): sorted_rows[max_blocks·block_rows] (slots grouped by expert in slot order, each run
// padded to a multiple of block_rows with the sentinel `slots`), block_experts[max_blocks] (-1 past the padded
// total), *padded_total. *invalid_ids is incremented by this launch's out-of-range ids, and its new value written
// to *invalid_ids_mirror (host memory mapped into the device) when it changes.
__global__ void __launch_bounds__(kAlignThreads) moe_align(const int* topk_ids, int slots, int experts,
                                                           int block_rows, int max_blocks, int* sorted_rows,
                                                           int* block_experts, int* padded_total,
                                                           unsigned int* invalid_ids,
                                                           unsigned int* invalid_ids_mirror) {
  __shared__ int count[kAlignMaxExperts];   // slots per expert, then the padded run's end (inclusive scan)
  __shared__ int cursor[kAlignMaxExperts];  // next free position of each run
  __shared__ unsigned char warp_counts[kAlignThreads / 32][kAlignMaxExperts];
  __shared__ int invalid;
  const int t = static_cast<int>(threadIdx.x);
  for (int e = t; e < experts; e += blockDim.x) count[e] = 0;
  for (int i = t; i < (kAlignThreads / 32) * kAlignMaxExperts; i += blockDim.x) (&warp_counts[0][0])[i] = 0;
  if (t == 0) invalid = 0;
  __syncthreads();
  for (int base = 0; base < slots; base += blockDim.x) {
    const int s = base + t;
    const unsigned int active = __ballot_sync(0xFFFFFFFFu, s < slots);
    if (s >= slots) continue;
    const int expert = topk_ids[s];
    const bool valid = expert >= 0 && expert < experts;
    const KeyPeers peers = warp_peers_of_key(valid ? expert : -1, active);
    if (peers.rank == 0) atomicAdd(valid ? &count[expert] : &invalid, peers.count);
  }
  __syncthreads();
  for (int e = t; e < experts; e += blockDim.x) count[e] = (count[e] + block_rows - 1) / block_rows * block_rows;
  __syncthreads();
  block_inclusive_scan(count, experts);
  for (int e = t; e < experts; e += blockDim.x) cursor[e] = e == 0 ? 0 : count[e - 1];
  const int total = count[experts - 1];
  if (t == 0) {
    *padded_total = total;
    if (invalid > 0) *invalid_ids_mirror = atomicAdd(invalid_ids, static_cast<unsigned int>(invalid)) + invalid;
  }
  const long long padded_rows = static_cast<long long>(max_blocks) * block_rows;
  for (long long i = t; i < padded_rows; i += blockDim.x) sorted_rows[i] = slots;
  for (int b = t; b < max_blocks; b += blockDim.x) {
    const int row = b * block_rows;
    int expert = -1;
    if (row < total) {  // the first expert whose run ends past `row`
      int lo = 0, hi = experts - 1;
      while (lo < hi) {
        const int mid = (lo + hi) / 2;
        if (count[mid] > row) hi = mid; else lo = mid + 1;
      }
      expert = lo;
    }
    block_experts[b] = expert;
  }
  __syncthreads();  // sentinels and cursors are in place before any slot lands (same block: the barrier orders them)
  for (int base = 0; base < slots; base += blockDim.x) {
    place_chunk_stably(topk_ids, base, slots, experts, cursor, warp_counts, sorted_rows);
  }
}

// out[token][c] = Σ_k slot_rows[token·topk + k][c] over the token's valid routing ids, in k order, in fp32, rounded
// once. A block per token; each thread sums 8 columns at a time (columns % 8 == 0, rows 16-byte aligned).
template <typename T>
__global__ void moe_sum(const T* slot_rows, int slot_stride, const int* topk_ids, int topk, int experts, T* out,
                        int columns) {
  const int token = static_cast<int>(blockIdx.x);
  for (int c = static_cast<int>(threadIdx.x) * 8; c < columns; c += static_cast<int>(blockDim.x) * 8) {
    float sum[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int k = 0; k < topk; ++k) {
      const int slot = token * topk + k;
      const int expert = topk_ids[slot];
      if (expert < 0 || expert >= experts) continue;
      const uint4 packed = *reinterpret_cast<const uint4*>(slot_rows + static_cast<long long>(slot) * slot_stride + c);
      const T* values = reinterpret_cast<const T*>(&packed);
#pragma unroll
      for (int i = 0; i < 8; ++i) sum[i] += DTypeTraits<T>::to_float(values[i]);
    }
    __align__(16) T result[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) result[i] = DTypeTraits<T>::from_float(sum[i]);
    *reinterpret_cast<uint4*>(out + static_cast<long long>(token) * columns + c) = *reinterpret_cast<const uint4*>(result);
  }
}

}  // namespace marlin_jit::kernels
