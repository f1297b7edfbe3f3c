// Timing for the benchmarks: warm-up, then N timed repeats, each bracketed by CUDA events on one stream, then the
// median and 90th percentile of the repeat times. Nothing else. Throws std::runtime_error if a CUDA call fails.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace marlin_jit::bench {

struct Timing {
  double median_us = 0;
  double p90_us = 0;
  int repeats = 0;
};

// launch(i) enqueues call i on `stream`; i runs on across warm-up and timed repeats, so a caller can rotate
// buffers with it. All repeats are enqueued before the first wait, so host overhead stays out of the events.
template <class Launch>
Timing time_on_stream(cudaStream_t stream, int warmup, int repeats, Launch&& launch) {
  const auto check = [](cudaError_t status, const char* what) {
    if (status != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
  };
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
  std::sort(us.begin(), us.end());
  Timing timing;
  timing.repeats = repeats;
  const std::size_t n = us.size();
  timing.median_us = n % 2 == 1 ? us[n / 2] : (us[n / 2 - 1] + us[n / 2]) / 2;
  timing.p90_us = us[static_cast<std::size_t>(std::ceil(0.9 * static_cast<double>(n))) - 1];
  return timing;
}

}  // namespace marlin_jit::bench
