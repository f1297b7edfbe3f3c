/* A C engine on the installed package, built with one compiler command and pkg-config: version, the dispatcher's
 * rules, the catalog, and one kernel compiled through NVRTC into the cache folder argv[1]. */
#include <stdio.h>
#include <string.h>

#include "marlin_jit/c_api.h"

static void keep_first_prep(void* user_data, const char* spec) {
  char* chosen = (char*)user_data;
  if (chosen[0] == '\0' && strncmp(spec, "prep/", 5) == 0 && strlen(spec) < 128) strcpy(chosen, spec);
}

int main(int argc, char** argv) {
  char spec[128] = "";
  mj_problem problem;
  mj_runtime_options options;
  mj_runtime* runtime = NULL;
  mj_kernel_info info;
  if (argc != 2) return 2;
  mj_problem_init(&problem);
  problem.group_size = 32;
  if (mj_check(&problem) != MJ_ERROR_CONFIG || strcmp(mj_last_error_rule(), "quant_group_size") != 0) return 1;
  if (mj_catalog(90, keep_first_prep, spec) != MJ_OK || spec[0] == '\0') return 1;

  mj_runtime_options_init(&options);
  options.cache_dir = argv[1];
  mj_kernel_info_init(&info);
  if (mj_runtime_create(&options, &runtime) != MJ_OK || mj_compile(runtime, spec, &info) != MJ_OK) {
    fprintf(stderr, "pkgconfig_consumer: %s\n", mj_last_error_message());
    mj_runtime_destroy(runtime);
    return 1;
  }
  printf("pkgconfig_consumer: marlin-jit %s, %s -> key %s, %llu cubin bytes\n", mj_version(), spec, info.key_hex,
         (unsigned long long)info.cubin_bytes);
  mj_runtime_destroy(runtime);
  return info.origin == MJ_ORIGIN_COMPILED && info.cubin_bytes > 0 ? 0 : 1;
}
