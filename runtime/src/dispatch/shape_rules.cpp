// Rules shape_positive, k_multiple_of_group and k_multiple_of_tile: the problem sizes the kernels can take.
// Every refusal of M, N or K happens here; N has no divisibility rule (it is padded to kNGranularity).
#include <string>

#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit {
namespace {

void check_positive(const char* name, const std::optional<std::int64_t>& value) {
  if (!value || *value >= 1) return;
  std::string text = std::to_string(*value);
  throw ConfigError("shape_positive", std::string(name) + "=" + text, ">= 1",
                    std::string(name) + " " + text + " not allowed: m, n and k must be >= 1");
}

}  // namespace

void check_shape(const ProblemSpec& problem) {
  check_positive("m", problem.m);
  check_positive("n", problem.n);
  check_positive("k", problem.k);
  if (!problem.k) return;
  std::int64_t k = *problem.k;
  if (problem.group_size > 0 && k % problem.group_size != 0) {
    std::string group = std::to_string(problem.group_size);
    throw ConfigError("k_multiple_of_group", std::to_string(k), "multiples of " + group,
                      "k " + std::to_string(k) + " not allowed for group_size " + group +
                          ": K must be a multiple of the group size");
  }
  if (k % kMinTileK != 0) {
    std::string tile = std::to_string(kMinTileK);
    throw ConfigError("k_multiple_of_tile", std::to_string(k), "multiples of " + tile,
                      "k " + std::to_string(k) + " not allowed: K must be a multiple of " + tile +
                          " (the smallest K tile)");
  }
}

}  // namespace marlin_jit
