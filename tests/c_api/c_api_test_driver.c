/* dlopen'ed CUDA driver for the C test (see c_api_test_driver.h). */
#include "c_api_test_driver.h"

#include <dlfcn.h>
#include <string.h>

enum { kComputeCapabilityMajor = 75, kComputeCapabilityMinor = 76 }; /* CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_* */

/* ISO C has no conversion from void* to a function pointer: copy the address bytes instead. */
static int resolve(void* library, const char* name, void* function_pointer, size_t size) {
  void* symbol = dlsym(library, name);
  if (symbol == NULL || size != sizeof(symbol)) return 0;
  memcpy(function_pointer, &symbol, size);
  return 1;
}

#define RESOLVE(field, name) resolve(driver->library, name, (void*)&driver->field, sizeof(driver->field))

const char* test_driver_open(struct test_driver* driver, int* sm) {
  int device = 0, major = 0, minor = 0;
  void* context = NULL;
  memset(driver, 0, sizeof(*driver));
  driver->library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (driver->library == NULL) return "libcuda.so.1 not found";
  if (!RESOLVE(init, "cuInit") || !RESOLVE(device_get, "cuDeviceGet") ||
      !RESOLVE(device_get_attribute, "cuDeviceGetAttribute") ||
      !RESOLVE(primary_ctx_retain, "cuDevicePrimaryCtxRetain") || !RESOLVE(ctx_set_current, "cuCtxSetCurrent") ||
      !RESOLVE(mem_alloc, "cuMemAlloc_v2") || !RESOLVE(memcpy_htod, "cuMemcpyHtoD_v2") ||
      !RESOLVE(memcpy_dtoh, "cuMemcpyDtoH_v2") || !RESOLVE(mem_free, "cuMemFree_v2") ||
      !RESOLVE(ctx_synchronize, "cuCtxSynchronize")) {
    return "libcuda.so.1 lacks an entry point";
  }
  if (driver->init(0) != 0) return "cuInit failed (no usable driver)";
  if (driver->device_get(&device, 0) != 0) return "no CUDA device";
  if (driver->device_get_attribute(&major, kComputeCapabilityMajor, device) != 0 ||
      driver->device_get_attribute(&minor, kComputeCapabilityMinor, device) != 0) {
    return "cannot read the compute capability";
  }
  *sm = 10 * major + minor;
  if (*sm < 80 || *sm >= 100) return "device outside SM80..SM90";
  if (driver->primary_ctx_retain(&context, device) != 0 || driver->ctx_set_current(context) != 0) {
    return "cannot make the primary context current";
  }
  return NULL;
}
