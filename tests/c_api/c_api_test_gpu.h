/* The GPU part of the C test: an NVFP4 linear layer prepared and applied through the C ABI, compared with a float64
 * reference. libcuda is dlopen'ed; without a driver, a device or a supported SM the part prints SKIPPED. */
#ifndef MARLIN_JIT_C_API_TEST_GPU_H
#define MARLIN_JIT_C_API_TEST_GPU_H

void run_gpu_linear_test(const char* cache_dir, unsigned seed);

#endif
