// Split-K workspace per (context, stream); see workspace_pool.hpp for the contract.
#include "ops/workspace_pool.hpp"

#include <map>
#include <mutex>
#include <utility>

#include "driver/cuda_driver.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit::ops {
namespace {

struct Slot {
  CUdeviceptr partials = 0;
  std::uint64_t partial_floats = 0;
  CUdeviceptr counters = 0;
  std::uint64_t counter_count = 0;
};

std::mutex& pool_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::map<std::pair<CUcontext, CUstream>, Slot>& pool() {
  static std::map<std::pair<CUcontext, CUstream>, Slot> slots;
  return slots;
}

bool capturing(CUstream stream) {
  CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
  detail::check_cu(detail::driver().cuStreamIsCapturing(stream, &status), "cuStreamIsCapturing");
  return status != CU_STREAM_CAPTURE_STATUS_NONE;
}

// Replaces `buffer` with one of `bytes`; the stream is drained first because queued kernels may still use it.
void grow(CUdeviceptr& buffer, std::uint64_t bytes, CUstream stream) {
  const auto& cu = detail::driver();
  if (buffer != 0) {
    detail::check_cu(cu.cuStreamSynchronize(stream), "cuStreamSynchronize");
    detail::check_cu(cu.cuMemFree(buffer), "cuMemFree");
    buffer = 0;
  }
  detail::check_cu(cu.cuMemAlloc(&buffer, bytes), "cuMemAlloc");
}

}  // namespace

Workspace acquire_workspace(CUstream stream, std::uint64_t partial_floats, std::uint64_t counters) {
  const auto& cu = detail::driver();
  CUcontext context = nullptr;
  detail::check_cu(cu.cuCtxGetCurrent(&context), "cuCtxGetCurrent");
  std::lock_guard<std::mutex> lock(pool_mutex());
  Slot& slot = pool()[{context, stream}];
  if (slot.partial_floats < partial_floats || slot.counter_count < counters) {
    if (capturing(stream)) {
      throw ConfigError("workspace_during_capture", std::to_string(partial_floats * 4) + " bytes",
                        "a workspace sized by an eager call on this stream before capture",
                        "the split-K workspace must grow, which cannot happen inside CUDA graph capture: run the "
                        "same shapes once on this stream before capturing");
    }
    if (slot.partial_floats < partial_floats) {
      grow(slot.partials, partial_floats * sizeof(float), stream);
      slot.partial_floats = partial_floats;
    }
    if (slot.counter_count < counters) {
      grow(slot.counters, counters * sizeof(int), stream);
      slot.counter_count = counters;
      detail::check_cu(cu.cuMemsetD32Async(slot.counters, 0, counters, stream), "cuMemsetD32Async");
    }
  }
  return {slot.partials, slot.counters};
}

}  // namespace marlin_jit::ops
