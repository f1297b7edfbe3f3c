// A C++ engine on the installed package: version, the dispatcher's rules (a refusal caught as ConfigError across
// the shared library's boundary), the catalog, and one kernel compiled through NVRTC into the cache folder argv[1].
#include <iostream>
#include <string>

#include "marlin_jit/marlin_jit.hpp"

namespace {

bool refuses_group_32() {
  marlin_jit::ProblemSpec problem;
  problem.group_size = 32;
  try {
    marlin_jit::check_supported(problem);
  } catch (const marlin_jit::ConfigError& error) {
    return error.rule() == "quant_group_size";
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: cmake_consumer CACHE_DIR\n";
    return 2;
  }
  if (marlin_jit::library_version() != "0.2.0") return 1;
  marlin_jit::ProblemSpec problem;
  problem.m = 16;
  problem.n = 4096;
  problem.k = 4096;
  marlin_jit::check_supported(problem);
  if (!refuses_group_32()) return 1;

  marlin_jit::CatalogFilter filter;
  filter.sms = {90};
  filter.kinds = {marlin_jit::KernelKind::prep};
  const std::vector<marlin_jit::KernelSpec> specs = marlin_jit::catalog_specs(filter);
  if (specs.empty()) return 1;
  const std::string spec = marlin_jit::to_string(specs.front());

  marlin_jit::RuntimeOptions options;
  options.cache_dir = argv[1];
  marlin_jit::Runtime runtime(options);
  marlin_jit::CompiledKernel kernel = runtime.compile(marlin_jit::request_for(marlin_jit::parse_kernel_spec(spec)));
  std::cout << "cmake_consumer: marlin-jit " << marlin_jit::library_version() << ", " << spec << " -> key "
            << kernel.key_hex << ", " << kernel.cubin.size() << " cubin bytes, "
            << marlin_jit::to_string(kernel.origin) << "\n";
  return kernel.cubin.empty() || kernel.origin != marlin_jit::KernelOrigin::compiled ? 1 : 0;
}
