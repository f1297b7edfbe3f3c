// From a spec string to a kernel request through the public API: parse_kernel_spec, then request_for (which runs
// the dispatcher's rules).
#include "spec_request.hpp"

#include "marlin_jit/catalog.hpp"

namespace marlin_jit::cli {

SpecRequest spec_request(const std::string& text) {
  SpecRequest result;
  result.spec = parse_kernel_spec(text);
  result.request = request_for(result.spec);
  return result;
}

}  // namespace marlin_jit::cli
