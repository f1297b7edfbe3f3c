// The size checks of shape_rules.cpp, for the other rule files that check sizes of their own (moe_rules.cpp).
#pragma once

#include <cstdint>
#include <optional>

namespace marlin_jit {

// Rules shape_positive and shape_range for one size (unset: not checked).
void check_dimension(const char* name, const std::optional<std::int64_t>& value);

// check_dimension, then k_multiple_of_group (group_size <= 0: per channel, no multiple).
void check_reduction_size(const char* name, const std::optional<std::int64_t>& k, int group_size);

}  // namespace marlin_jit
