/* The few CUDA driver entry points the C test needs, resolved with dlopen/dlsym (no CUDA header, no libcuda link).
 * Device memory is CUdeviceptr, an unsigned 64-bit address; every call returns a CUresult (0 = success). */
#ifndef MARLIN_JIT_C_API_TEST_DRIVER_H
#define MARLIN_JIT_C_API_TEST_DRIVER_H

#include <stddef.h>

typedef unsigned long long test_device_ptr;

struct test_driver {
  void* library;
  int (*init)(unsigned flags);
  int (*device_get)(int* device, int ordinal);
  int (*device_get_attribute)(int* value, int attribute, int device);
  int (*primary_ctx_retain)(void** context, int device);
  int (*ctx_set_current)(void* context);
  int (*mem_alloc)(test_device_ptr* pointer, size_t bytes);
  int (*memcpy_htod)(test_device_ptr destination, const void* source, size_t bytes);
  int (*memcpy_dtoh)(void* destination, test_device_ptr source, size_t bytes);
  int (*mem_free)(test_device_ptr pointer);
  int (*ctx_synchronize)(void);
};

/* Loads libcuda.so.1, initialises it and makes device 0's primary context current. Returns NULL on success, or
 * why the GPU part cannot run (a static string). *sm receives the device's SM (e.g. 90). */
const char* test_driver_open(struct test_driver* driver, int* sm);

#endif
