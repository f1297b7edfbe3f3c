// mj_kernel_info_init, mj_compile and mj_precompile: spec strings (the CLI's grammar) to cubins in the cache.
#include <string>
#include <vector>

#include "c_api/boundary.hpp"
#include "c_api/handles.hpp"
#include "marlin_jit/catalog.hpp"
#include "marlin_jit/kernel_spec.hpp"

namespace marlin_jit::c_api {
namespace {

KernelRequest request_for_text(const char* spec, const char* parameter) {
  if (spec == nullptr) refuse_argument(parameter, "must not be NULL");
  return request_for(parse_kernel_spec(spec));
}

static_assert(static_cast<int>(KernelOrigin::compiled) == MJ_ORIGIN_COMPILED &&
              static_cast<int>(KernelOrigin::disk) == MJ_ORIGIN_DISK &&
              static_cast<int>(KernelOrigin::memory) == MJ_ORIGIN_MEMORY);

void fill_info(const CompiledKernel& kernel, mj_kernel_info& info) {
  info.key_hex[kernel.key_hex.copy(info.key_hex, sizeof(info.key_hex) - 1)] = '\0';
  info.origin = static_cast<int>(kernel.origin);
  info.compile_seconds = kernel.stats.compile_seconds;
  info.registers = kernel.stats.registers;
  info.cubin_bytes = kernel.stats.cubin_bytes;
}

}  // namespace
}  // namespace marlin_jit::c_api

using namespace marlin_jit::c_api;

extern "C" {

void mj_kernel_info_init(mj_kernel_info* info) {
  if (info == nullptr) return;
  *info = mj_kernel_info{};
  info->struct_size = sizeof(mj_kernel_info);
}

mj_status mj_compile(mj_runtime* runtime, const char* spec, mj_kernel_info* info) {
  return guarded([&] {
    mj_runtime& target = require(runtime, "runtime");
    if (info != nullptr) require_struct_size(info->struct_size, sizeof(mj_kernel_info), "info");
    marlin_jit::CompiledKernel kernel = target.runtime.compile(request_for_text(spec, "spec"));
    if (info != nullptr) fill_info(kernel, *info);
  });
}

mj_status mj_precompile(mj_runtime* runtime, const char* const* specs, size_t count, mj_progress_fn progress,
                        void* user_data) {
  mj_status first_failure = MJ_OK;
  LastError first_error;
  mj_status status = guarded([&] {
    mj_runtime& target = require(runtime, "runtime");
    if (count > 0) require(specs, "specs");
    std::vector<marlin_jit::KernelRequest> requests;  // every spec checked before anything compiles
    for (std::size_t i = 0; i < count; ++i) requests.push_back(request_for_text(specs[i], "specs"));
    for (std::size_t i = 0; i < count; ++i) {
      mj_status one = guarded([&] { target.runtime.compile(requests[i]); });
      if (one != MJ_OK && first_failure == MJ_OK) {
        first_failure = one;
        first_error = last_error();
      }
      if (progress != nullptr) progress(user_data, i + 1, count, specs[i], one);
    }
  });
  if (status != MJ_OK || first_failure == MJ_OK) return status;
  last_error() = std::move(first_error);
  return first_failure;
}

}  // extern "C"
