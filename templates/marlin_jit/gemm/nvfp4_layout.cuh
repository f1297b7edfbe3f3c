// The prepared NVFP4 weight layout shared by the preparation kernels and the GEMM mainloop (and mirrored by the
// host's CPU reference in runtime/src/ops/nvfp4_layout.hpp). Independent of the tile configuration, so one prepared
// layer serves every kernel the dispatcher may pick.
//
// Weights: N is padded to a multiple of 64. For each 16-column block c (n in [16c, 16c+16)) and each 64-deep
// K chunk q, an "atom" of 512 bytes: 32 lanes × 4 words, word j of lane l serving k16 block kk = 4q + j.
// In that word (g = l/4, t = l%4), pair p's element e (e = 0, 1) is the code of
//   n = 16c + 8·(p/2) + g,   k = 16·kk + 8·(p%2) + 2t + e,
// stored at bits [12 - 4p + 16e + 3 : 12 - 4p + 16e]: exactly the B fragment of mma.m16n8k16 after
// decode_e2m1_pair. Atoms are laid out [c][q], so a column block's K stream is contiguous.
// Scales: for each (c, q) a 64-byte atom, 8 bytes per g: byte b = 4w + r holds the scale of
//   n = 16c + 8·(r>>1) + g, k16 group 4q + 2w + (r&1),
// so 32-bit word w holds groups 2w (even bytes) and 2w+1 (odd bytes), read by expand_scale_pair.
#pragma once

namespace marlin_jit::kernels::nvfp4_layout {

constexpr int kNGranularity = 64;      // N is padded to this
constexpr int kKChunk = 64;            // K per atom
constexpr int kWeightAtomBytes = 512;  // 16 n × 64 k × 4 bits
constexpr int kScaleAtomBytes = 64;    // 16 n × 4 groups × 1 byte

}  // namespace marlin_jit::kernels::nvfp4_layout
