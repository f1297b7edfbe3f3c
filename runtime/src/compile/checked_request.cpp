// checked_request_for: a kernel spec through the dispatcher's rules, then the catalog. Throws ConfigError.
#include "marlin_jit/catalog.hpp"
#include "marlin_jit/dispatch.hpp"

namespace marlin_jit {

KernelRequest checked_request_for(const KernelSpec& spec) {
  ProblemSpec problem;
  problem.kind = spec.kind;
  problem.quant = spec.quant;
  problem.sm = spec.sm;
  problem.dtype = spec.dtype;
  // A prep spec names no group: take the quant type's own, so only the SM and quant rules can refuse it.
  problem.group_size = spec.kind == KernelKind::prep ? allowed_group_sizes(spec.quant).front() : spec.group_size;
  check_supported(problem);
  return request_for(spec);
}

}  // namespace marlin_jit
