// The random seed of a test run: one per process, printed with every failure so MARLIN_JIT_TEST_SEED=<n> replays the
// run, and a stream per named case derived from it (so cases do not depend on the order they run in).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>

#include "nvfp4_checkpoint.hpp"

namespace marlin_jit::test {

inline std::uint64_t run_seed() {
  static const std::uint64_t seed = []() -> std::uint64_t {
    if (const char* text = std::getenv("MARLIN_JIT_TEST_SEED")) return std::stoull(text);
    return (static_cast<std::uint64_t>(std::random_device{}()) << 32) | std::random_device{}();
  }();
  return seed;
}

inline std::uint64_t seed_for(const std::string& what) {
  return stream_seed(run_seed(), std::hash<std::string>{}(what));
}

}  // namespace marlin_jit::test
