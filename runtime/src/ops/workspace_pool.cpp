// Scratch memory per (context, stream); see workspace_pool.hpp for the contract.
#include "ops/workspace_pool.hpp"

#include <map>
#include <mutex>
#include <utility>

#include "driver/cuda_driver.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit::ops {
namespace {

struct Buffer {
  CUdeviceptr pointer = 0;
  std::uint64_t bytes = 0;
};

struct Slot {
  Buffer partials, counters, dense_weights;
  Buffer moe_routing, moe_intermediate, moe_slot_outputs, moe_invalid_ids;
  unsigned int* moe_invalid_ids_host = nullptr;  // pinned and mapped, lives until process exit like the buffers
  CUdeviceptr moe_invalid_ids_mirror = 0;        // its device address
  unsigned int moe_invalid_ids_reported = 0;
};

std::mutex& pool_mutex() {
  static std::mutex mutex;
  return mutex;
}

// The caller holds pool_mutex().
Slot& slot_for(CUstream stream) {
  static std::map<std::pair<CUcontext, CUstream>, Slot> slots;
  CUcontext context = nullptr;
  detail::check_cu(detail::driver().cuCtxGetCurrent(&context), "cuCtxGetCurrent");
  return slots[{context, stream}];
}

bool capturing(CUstream stream) {
  CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
  detail::check_cu(detail::driver().cuStreamIsCapturing(stream, &status), "cuStreamIsCapturing");
  return status != CU_STREAM_CAPTURE_STATUS_NONE;
}

// Grows `buffer` to at least `bytes`; returns true when it was (re)allocated. The stream is drained before the old
// buffer is freed, because queued kernels may still use it.
bool ensure(Buffer& buffer, std::uint64_t bytes, CUstream stream) {
  if (buffer.bytes >= bytes) return false;
  if (capturing(stream)) {
    throw ConfigError("workspace_during_capture", std::to_string(bytes) + " bytes",
                      "scratch sized by an eager call on this stream before capture",
                      "scratch memory must grow, which cannot happen inside CUDA graph capture: run the same "
                      "shapes once on this stream before capturing");
  }
  const auto& cu = detail::driver();
  if (buffer.pointer != 0) {
    detail::check_cu(cu.cuStreamSynchronize(stream), "cuStreamSynchronize");
    detail::check_cu(cu.cuMemFree(buffer.pointer), "cuMemFree");
    buffer = {};
  }
  detail::check_cu(cu.cuMemAlloc(&buffer.pointer, bytes), "cuMemAlloc");
  buffer.bytes = bytes;
  return true;
}

}  // namespace

SplitWorkspace acquire_split_workspace(CUstream stream, std::uint64_t partial_floats, std::uint64_t counters) {
  std::lock_guard<std::mutex> lock(pool_mutex());
  Slot& slot = slot_for(stream);
  ensure(slot.partials, partial_floats * sizeof(float), stream);
  if (ensure(slot.counters, counters * sizeof(int), stream)) {
    detail::check_cu(detail::driver().cuMemsetD32Async(slot.counters.pointer, 0, slot.counters.bytes / sizeof(int),
                                                       stream),
                     "cuMemsetD32Async");
  }
  return {slot.partials.pointer, slot.counters.pointer};
}

CUdeviceptr acquire_dense_weights(CUstream stream, std::uint64_t bytes) {
  std::lock_guard<std::mutex> lock(pool_mutex());
  Slot& slot = slot_for(stream);
  ensure(slot.dense_weights, bytes, stream);
  return slot.dense_weights.pointer;
}

MoeWorkspace acquire_moe_workspace(CUstream stream, std::uint64_t routing_bytes, std::uint64_t intermediate_bytes,
                                   std::uint64_t slot_output_bytes) {
  std::lock_guard<std::mutex> lock(pool_mutex());
  Slot& slot = slot_for(stream);
  ensure(slot.moe_routing, routing_bytes, stream);
  ensure(slot.moe_intermediate, intermediate_bytes, stream);
  ensure(slot.moe_slot_outputs, slot_output_bytes, stream);
  if (ensure(slot.moe_invalid_ids, sizeof(unsigned int), stream)) {
    const auto& cu = detail::driver();
    void* host = nullptr;
    detail::check_cu(cu.cuMemHostAlloc(&host, sizeof(unsigned int), CU_MEMHOSTALLOC_DEVICEMAP), "cuMemHostAlloc");
    slot.moe_invalid_ids_host = static_cast<unsigned int*>(host);
    *slot.moe_invalid_ids_host = 0;
    detail::check_cu(cu.cuMemHostGetDevicePointer(&slot.moe_invalid_ids_mirror, host, 0), "cuMemHostGetDevicePointer");
    detail::check_cu(cu.cuMemsetD32Async(slot.moe_invalid_ids.pointer, 0, 1, stream), "cuMemsetD32Async");
  }
  return {slot.moe_routing.pointer, slot.moe_intermediate.pointer, slot.moe_slot_outputs.pointer,
          slot.moe_invalid_ids.pointer, slot.moe_invalid_ids_mirror};
}

std::uint64_t take_unreported_invalid_ids(CUstream stream) {
  std::lock_guard<std::mutex> lock(pool_mutex());
  Slot& slot = slot_for(stream);
  if (slot.moe_invalid_ids_host == nullptr) return 0;
  const unsigned int seen = *static_cast<volatile unsigned int*>(slot.moe_invalid_ids_host);
  const unsigned int unreported = seen - slot.moe_invalid_ids_reported;
  slot.moe_invalid_ids_reported = seen;
  return unreported;
}

}  // namespace marlin_jit::ops
