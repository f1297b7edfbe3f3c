// The kernel catalog, public: which template and name expression serve a KernelSpec, and every spec the dispatcher
// can pick for given axes (what `marlin-jit precompile` warms; an engine warms its own kernels with it at start-up).
// Errors: request_for throws ConfigError for specs no kernel serves (rule named in the message).
#pragma once
#include <vector>

#include "marlin_jit/kernel_spec.hpp"
#include "marlin_jit/runtime.hpp"
#include "marlin_jit/export.h"

MARLIN_JIT_API_BEGIN
namespace marlin_jit {

// Runs the dispatcher's rules for the spec first (check_supported: SM range, group size, dtype, kernels available),
// so a spec string from an engine's config becomes a request with request_for(parse_kernel_spec(text)).
KernelRequest request_for(const KernelSpec& spec);

// Empty vectors mean "all": every supported SM, both dtypes, quant types with kernels, every kind.
struct CatalogFilter {
  std::vector<int> sms;
  std::vector<DType> dtypes;
  std::vector<QuantType> quants;
  std::vector<KernelKind> kinds;
};

std::vector<KernelSpec> catalog_specs(const CatalogFilter& filter);

}  // namespace marlin_jit
MARLIN_JIT_API_END
