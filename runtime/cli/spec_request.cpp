// Validates a spec the way the dispatcher would before handing it to the catalog. Throws ConfigError.
#include "spec_request.hpp"

#include "marlin_jit/catalog.hpp"
#include "marlin_jit/dispatch.hpp"

namespace marlin_jit::cli {

SpecRequest spec_request(const std::string& text) {
  SpecRequest result;
  result.spec = parse_kernel_spec(text);
  ProblemSpec problem;
  problem.kind = result.spec.kind;
  problem.quant = result.spec.quant;
  problem.sm = result.spec.sm;
  problem.dtype = result.spec.dtype;
  // A prep spec names no group: take the quant type's own, so only the SM and quant rules can refuse it.
  problem.group_size =
      result.spec.kind == KernelKind::prep ? allowed_group_sizes(result.spec.quant).front() : result.spec.group_size;
  check_supported(problem);
  result.request = request_for(result.spec);
  return result;
}

}  // namespace marlin_jit::cli
