// Rules moe_activation, moe_experts, moe_topk and moe_slots_range: the MoE layers the kernels can take. Every
// refusal of an MoE layer's expert count, top-k or activation happens here; its sizes go through shape_rules.
#include <algorithm>
#include <string>

#include "dispatch/shape_rules.hpp"
#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit {

void check_moe(const ProblemSpec& problem) {
  if (problem.activation != Activation::silu_gated && problem.activation != Activation::relu2) {
    throw ConfigError("moe_activation", to_string(problem.activation), "silu_gated, relu2",
                      "activation " + to_string(problem.activation) +
                          " not allowed for an MoE layer: allowed silu_gated (gated experts) or relu2 (non-gated)");
  }
  if (problem.experts && (*problem.experts < 1 || *problem.experts > kMaxExperts)) {
    throw ConfigError("moe_experts", std::to_string(*problem.experts), "1 .. " + std::to_string(kMaxExperts),
                      "experts " + std::to_string(*problem.experts) + " not allowed: 1 to " +
                          std::to_string(kMaxExperts) + " (the token alignment kernel scans them in one block)");
  }
  if (problem.topk) {
    const std::int64_t most = problem.experts ? std::min(*problem.experts, kMaxTopk) : kMaxTopk;
    if (*problem.topk < 1 || *problem.topk > most) {
      throw ConfigError("moe_topk", std::to_string(*problem.topk), "1 .. " + std::to_string(most),
                        "topk " + std::to_string(*problem.topk) + " not allowed: 1 to min(experts, " +
                            std::to_string(kMaxTopk) + ") = " + std::to_string(most));
    }
  }
  check_dimension("m", problem.m);
  check_reduction_size("hidden", problem.hidden, problem.group_size);
  check_reduction_size("intermediate", problem.intermediate, problem.group_size);
  if (problem.m && problem.topk && *problem.m * *problem.topk > kMaxDimension) {
    const std::string slots = std::to_string(*problem.m * *problem.topk);
    throw ConfigError("moe_slots_range", slots, "<= 2^31-1",
                      "m * topk = " + slots + " routed slots not allowed: the kernels index slots with 32 bits");
  }
}

}  // namespace marlin_jit
