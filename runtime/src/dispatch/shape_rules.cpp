// Rules shape_positive, shape_range and k_multiple_of_group: the problem sizes the kernels can take. Every refusal
// of M, N or K happens here; N and K have no other divisibility rule (both are padded to 64 at preparation).
#include "dispatch/shape_rules.hpp"

#include <string>

#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit {

void check_dimension(const char* name, const std::optional<std::int64_t>& value) {
  if (!value) return;
  const std::string text = std::to_string(*value);
  if (*value < 1) {
    throw ConfigError("shape_positive", std::string(name) + "=" + text, ">= 1",
                      std::string(name) + " " + text + " not allowed: sizes must be >= 1");
  }
  if (*value > kMaxDimension) {
    throw ConfigError("shape_range", std::string(name) + "=" + text, "<= 2^31-1",
                      std::string(name) + " " + text + " not allowed: the kernels index each size with 32 bits");
  }
}

void check_reduction_size(const char* name, const std::optional<std::int64_t>& k, int group_size) {
  check_dimension(name, k);
  if (!k || group_size <= 0 || *k % group_size == 0) return;
  const std::string group = std::to_string(group_size);
  throw ConfigError("k_multiple_of_group", std::string(name) + "=" + std::to_string(*k), "multiples of " + group,
                    std::string(name) + " " + std::to_string(*k) + " not allowed for group_size " + group +
                        ": a reduction size must be a multiple of the group size");
}

void check_shape(const ProblemSpec& problem) {
  check_dimension("m", problem.m);
  check_dimension("n", problem.n);
  check_reduction_size("k", problem.k, problem.group_size);
}

}  // namespace marlin_jit
