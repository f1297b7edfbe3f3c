// Timing for the benchmarks: warm-up, then N timed repeats, each bracketed by CUDA events on one stream (or split
// into phases by events), then the median and 90th percentile of the repeat times. Nothing else. Throws
// std::runtime_error if a CUDA call fails.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace marlin_jit::bench {

struct Timing {
  double median_us = 0;
  double p90_us = 0;
  int repeats = 0;
};

namespace timing_detail {

inline void check_timing_call(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

// Median and 90th percentile of `us` (not empty).
inline Timing summarize_us(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  Timing timing;
  timing.repeats = static_cast<int>(us.size());
  const std::size_t n = us.size();
  timing.median_us = n % 2 == 1 ? us[n / 2] : (us[n / 2 - 1] + us[n / 2]) / 2;
  timing.p90_us = us[static_cast<std::size_t>(std::ceil(0.9 * static_cast<double>(n))) - 1];
  return timing;
}

}  // namespace timing_detail

// launch(i) enqueues call i on `stream`; i runs on across warm-up and timed repeats, so a caller can rotate
// buffers with it. All repeats are enqueued before the first wait, so host overhead stays out of the events.
template <class Launch>
Timing time_on_stream(cudaStream_t stream, int warmup, int repeats, Launch&& launch) {
  const auto check = timing_detail::check_timing_call;
  repeats = std::max(repeats, 1);
  for (int i = 0; i < warmup; ++i) launch(i);
  std::vector<cudaEvent_t> events(2 * static_cast<std::size_t>(repeats));
  for (cudaEvent_t& event : events) check(cudaEventCreate(&event), "cudaEventCreate");
  for (int r = 0; r < repeats; ++r) {
    check(cudaEventRecord(events[2 * static_cast<std::size_t>(r)], stream), "cudaEventRecord");
    launch(warmup + r);
    check(cudaEventRecord(events[2 * static_cast<std::size_t>(r) + 1], stream), "cudaEventRecord");
  }
  check(cudaEventSynchronize(events.back()), "timed work");
  check(cudaGetLastError(), "timed work");
  std::vector<double> us(static_cast<std::size_t>(repeats));
  for (std::size_t r = 0; r < us.size(); ++r) {
    float ms = 0;
    check(cudaEventElapsedTime(&ms, events[2 * r], events[2 * r + 1]), "cudaEventElapsedTime");
    us[r] = 1000.0 * static_cast<double>(ms);
  }
  for (cudaEvent_t event : events) cudaEventDestroy(event);
  return timing_detail::summarize_us(std::move(us));
}

// One call made of phases, each timed on its own: phases[p] runs from the previous mark (or the call's start) to
// mark p; total from the call's start to its last mark. Medians and p90s are taken per phase, so the phase medians
// need not add up to the total's.
struct PhaseTimings {
  std::vector<Timing> phases;
  Timing total;
};

// launch(i, mark) enqueues call i on `stream` and calls mark() on the host right after enqueuing each of its
// `phases` phases; mark records an event on `stream` (during warm-up it does nothing). As time_on_stream: i runs on
// across warm-up and timed repeats, and all repeats are enqueued before the first wait. Throws std::runtime_error
// when a timed call marks other than `phases` times.
template <class Launch>
PhaseTimings time_phases_on_stream(cudaStream_t stream, int warmup, int repeats, int phases, Launch&& launch) {
  const auto check = timing_detail::check_timing_call;
  repeats = std::max(repeats, 1);
  phases = std::max(phases, 1);
  const std::size_t per_call = static_cast<std::size_t>(phases) + 1;
  for (int i = 0; i < warmup; ++i) launch(i, [] {});
  std::vector<cudaEvent_t> events(per_call * static_cast<std::size_t>(repeats));
  for (cudaEvent_t& event : events) check(cudaEventCreate(&event), "cudaEventCreate");
  const auto destroy = [&] {
    for (cudaEvent_t event : events) cudaEventDestroy(event);
  };
  try {
    for (int r = 0; r < repeats; ++r) {
      const std::size_t first = per_call * static_cast<std::size_t>(r);
      std::size_t marks = 0;
      check(cudaEventRecord(events[first], stream), "cudaEventRecord");
      launch(warmup + r, [&] {
        if (++marks < per_call) check(cudaEventRecord(events[first + marks], stream), "cudaEventRecord");
      });
      if (marks + 1 != per_call) {
        throw std::runtime_error("time_phases_on_stream: a call marked " + std::to_string(marks) + " phases, not " +
                                 std::to_string(phases));
      }
    }
    check(cudaEventSynchronize(events.back()), "timed work");
    check(cudaGetLastError(), "timed work");
  } catch (...) {
    cudaStreamSynchronize(stream);
    destroy();
    throw;
  }
  std::vector<std::vector<double>> phase_us(per_call, std::vector<double>(static_cast<std::size_t>(repeats)));
  for (std::size_t r = 0; r < static_cast<std::size_t>(repeats); ++r) {
    const std::size_t first = per_call * r;
    for (std::size_t p = 0; p < per_call; ++p) {
      // p < phases: phase p (events p → p+1); p == phases: the whole call (events 0 → last).
      const cudaEvent_t from = events[p < per_call - 1 ? first + p : first];
      const cudaEvent_t to = events[p < per_call - 1 ? first + p + 1 : first + per_call - 1];
      float ms = 0;
      check(cudaEventElapsedTime(&ms, from, to), "cudaEventElapsedTime");
      phase_us[p][r] = 1000.0 * static_cast<double>(ms);
    }
  }
  destroy();
  PhaseTimings timings;
  for (std::size_t p = 0; p + 1 < per_call; ++p) {
    timings.phases.push_back(timing_detail::summarize_us(std::move(phase_us[p])));
  }
  timings.total = timing_detail::summarize_us(std::move(phase_us.back()));
  return timings;
}

// Device-to-device copy bandwidth in GB/s, counting bytes read plus bytes written, over a 1 GiB buffer: the ceiling
// the benchmarks' bandwidth shares are taken against.
inline double measure_copy_bandwidth(cudaStream_t stream, int warmup, int repeats) {
  const auto check = timing_detail::check_timing_call;
  const std::size_t bytes = std::size_t{1} << 30;
  void* src = nullptr;
  void* dst = nullptr;
  check(cudaMalloc(&src, bytes), "cudaMalloc");
  check(cudaMalloc(&dst, bytes), "cudaMalloc");
  check(cudaMemsetAsync(src, 0x5A, bytes, stream), "cudaMemsetAsync");
  const Timing t = time_on_stream(stream, warmup, repeats, [&](int) {
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync");
  });
  cudaFree(src);
  cudaFree(dst);
  return 2.0 * static_cast<double>(bytes) / (t.median_us * 1e-6) / 1e9;
}

}  // namespace marlin_jit::bench
