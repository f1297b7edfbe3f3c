// The host's GemmParams (runtime/src/ops/gemm_params.hpp) has the device struct's layout: the template header
// templates/marlin_jit/gemm/gemm_params.cuh is plain data, so it compiles here as C++ and the two are compared.
#include <gtest/gtest.h>

#include <cstddef>

#include "marlin_jit/gemm/gemm_params.cuh"
#include "ops/gemm_params.hpp"

namespace marlin_jit {
namespace {

#define MARLIN_JIT_EXPECT_SAME_OFFSET(field) \
  EXPECT_EQ(offsetof(ops::GemmParams, field), offsetof(kernels::GemmParams, field)) << #field

TEST(GemmParams, HostMirrorMatchesTheDeviceStruct) {
  EXPECT_EQ(sizeof(ops::GemmParams), sizeof(kernels::GemmParams));
  MARLIN_JIT_EXPECT_SAME_OFFSET(a);
  MARLIN_JIT_EXPECT_SAME_OFFSET(counters);
  MARLIN_JIT_EXPECT_SAME_OFFSET(global_scale);
  MARLIN_JIT_EXPECT_SAME_OFFSET(splits);
  MARLIN_JIT_EXPECT_SAME_OFFSET(k_padded);
  MARLIN_JIT_EXPECT_SAME_OFFSET(sorted_rows);
  MARLIN_JIT_EXPECT_SAME_OFFSET(slot_weights);
  MARLIN_JIT_EXPECT_SAME_OFFSET(expert_weight_words);
  MARLIN_JIT_EXPECT_SAME_OFFSET(expert_scale_bytes);
  MARLIN_JIT_EXPECT_SAME_OFFSET(slots);
  MARLIN_JIT_EXPECT_SAME_OFFSET(gather_divisor);
  MARLIN_JIT_EXPECT_SAME_OFFSET(out_stride);
  MARLIN_JIT_EXPECT_SAME_OFFSET(bias_stride);
}

#undef MARLIN_JIT_EXPECT_SAME_OFFSET

}  // namespace
}  // namespace marlin_jit
