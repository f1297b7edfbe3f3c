// The separate MoE activation kernels (entry/moe_activation.cuh) compile through real NVRTC from the embedded
// templates: precompile does not warm them (they only serve bench_moe --separate-activation), so without this test a
// broken template would first show on the GPU machine.
#include <gtest/gtest.h>

#include "compile/kernel_catalog.hpp"
#include "marlin_jit/kernel_spec.hpp"
#include "marlin_jit/runtime.hpp"
#include "temp_cache_dir.hpp"

namespace marlin_jit {
namespace {

TEST(MoeActivationKernels, EachCompilesForSm80AndSm90) {
  test::TempCacheDir dir;
  RuntimeOptions options;
  options.cache_dir = dir.path();
  Runtime runtime(options);
  for (const char* op : {kPrepMoeSiluFp16, kPrepMoeSiluBf16, kPrepMoeRelu2Fp16, kPrepMoeRelu2Bf16}) {
    for (int sm : {80, 90}) {
      KernelSpec spec;
      spec.kind = KernelKind::prep;
      spec.sm = sm;
      spec.prep_op = op;
      SCOPED_TRACE(to_string(spec));
      const CompiledKernel kernel = runtime.compile(request_for(spec));
      EXPECT_FALSE(kernel.cubin.empty());
      EXPECT_NE(kernel.lowered_name.find("moe_activation"), std::string::npos) << kernel.lowered_name;
    }
  }
}

}  // namespace
}  // namespace marlin_jit
