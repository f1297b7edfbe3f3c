// C enum values to the C++ API's enums, refusing values the C header does not define.
#include "c_api/enums.hpp"

#include <string>

#include "c_api/boundary.hpp"

namespace marlin_jit::c_api {
namespace {

// C enums are ints: a caller can pass any value, so check the range before the cast.
template <class Target>
Target checked(int value, int last, const char* field) {
  if (value < 0 || value > last) {
    refuse_argument(field, "is " + std::to_string(value) + ", outside 0.." + std::to_string(last));
  }
  return static_cast<Target>(value);
}

}  // namespace

// The C enums number their values as the C++ enums do, so the checked cast is the whole conversion.
static_assert(static_cast<int>(DType::bf16) == MJ_DTYPE_BF16 && static_cast<int>(DType::fp16) == MJ_DTYPE_FP16);
static_assert(static_cast<int>(QuantType::uint8b128) == MJ_QUANT_UINT8B128 &&
              static_cast<int>(QuantType::uint4b8) == MJ_QUANT_UINT4B8);
static_assert(static_cast<int>(KernelKind::prep) == MJ_KIND_PREP && static_cast<int>(KernelKind::moe) == MJ_KIND_MOE);
static_assert(static_cast<int>(Activation::relu2) == MJ_ACTIVATION_RELU2 &&
              static_cast<int>(Activation::silu_gated) == MJ_ACTIVATION_SILU_GATED);
static_assert(static_cast<int>(GemmPath::dequant_cublas) == MJ_GEMM_DEQUANT_CUBLAS &&
              static_cast<int>(GemmPath::marlin) == MJ_GEMM_MARLIN);

DType to_dtype(mj_dtype value, const char* field) { return checked<DType>(value, MJ_DTYPE_BF16, field); }

QuantType to_quant(mj_quant value, const char* field) { return checked<QuantType>(value, MJ_QUANT_UINT8B128, field); }

KernelKind to_kind(mj_kernel_kind value, const char* field) { return checked<KernelKind>(value, MJ_KIND_PREP, field); }

Activation to_activation(mj_activation value, const char* field) {
  return checked<Activation>(value, MJ_ACTIVATION_RELU2, field);
}

GemmPath to_gemm_path(mj_gemm_path value, const char* field) {
  return checked<GemmPath>(value, MJ_GEMM_DEQUANT_CUBLAS, field);
}

}  // namespace marlin_jit::c_api
