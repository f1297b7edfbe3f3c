/* The C ABI from C99, through the shared library: versions, runtime options, the dispatcher's rules, the catalog,
 * one real NVRTC compile into a temporary cache (then found in memory and on disk), precompile with progress, a
 * compile error with NVRTC's log (a broken copy of the templates), the
 * error paths (NULL handles, bad spec strings, bad options, enum values out of range), and, with a GPU, an NVFP4
 * layer prepared and applied against a float64 reference (libcuda through dlopen; skipped without a GPU).
 * Exit status: 0 when every check passed (GPU part passed or skipped), 1 otherwise. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "c_api_test_gpu.h"
#include "c_api_test_support.h"
#include "marlin_jit/c_api.h"

static void test_version(void) {
  CHECK(strcmp(mj_version(), MARLIN_JIT_EXPECTED_VERSION) == 0, "mj_version() = %s", mj_version());
  CHECK(mj_version_major() == MARLIN_JIT_EXPECTED_MAJOR && mj_version_minor() == MARLIN_JIT_EXPECTED_MINOR,
        "version numbers %d.%d", mj_version_major(), mj_version_minor());
  CHECK(strchr(mj_nvrtc_version(), '.') != NULL, "NVRTC version %s", mj_nvrtc_version());
  CHECK(strcmp(mj_status_name(MJ_ERROR_CONFIG), "MJ_ERROR_CONFIG") == 0, "status name");
  CHECK(strcmp(mj_status_name((mj_status)42), "unknown") == 0, "status name off the enum");
}

static void test_runtime_options(const char* cache_dir) {
  mj_runtime* runtime = NULL;
  mj_runtime_options options;
  const char* read_only[] = {"/nonexistent/marlin-jit-prebuilt"};

  EXPECT_REFUSED(mj_runtime_create(NULL, NULL), "c_api_argument", "runtime");
  mj_runtime_options_init(&options);
  options.struct_size = sizeof(options) - 1;
  EXPECT_REFUSED(mj_runtime_create(&options, &runtime), "c_api_argument", "options");
  CHECK(runtime == NULL, "no runtime after a refusal");
  mj_runtime_options_init(&options);
  options.cache_dir = "";
  EXPECT_REFUSED(mj_runtime_create(&options, &runtime), "c_api_argument", "options.cache_dir");
  mj_runtime_options_init(&options);
  options.read_only_cache_dir_count = 1;
  EXPECT_REFUSED(mj_runtime_create(&options, &runtime), "c_api_argument", "options.read_only_cache_dirs");

  mj_runtime_options_init(&options);
  options.cache_dir = cache_dir;
  options.cache_max_bytes = 64u << 20;
  options.read_only_cache_dirs = read_only;
  options.read_only_cache_dir_count = 1;
  EXPECT_OK(mj_runtime_create(&options, &runtime));
  CHECK(runtime != NULL, "runtime created");
  CHECK(strcmp(mj_last_error_message(), "") == 0, "success clears the last error: '%s'", mj_last_error_message());
  mj_runtime_destroy(runtime);
  mj_runtime_destroy(NULL);
}

static void test_check(void) {
  mj_problem problem;
  mj_problem_init(&problem);
  problem.m = 7;
  problem.n = 4096;
  problem.k = 4096;
  EXPECT_OK(mj_check(&problem));

  problem.group_size = 32;
  EXPECT_REFUSED(mj_check(&problem), "quant_group_size", "32");
  CHECK(strstr(mj_last_error_message(), "32") != NULL, "message names the value: %s", mj_last_error_message());

  mj_problem_init(&problem);
  problem.sm = 75;
  EXPECT_REFUSED(mj_check(&problem), "sm_range", NULL);

  mj_problem_init(&problem);
  problem.kind = MJ_KIND_MOE;
  problem.experts = 8;
  problem.topk = 9;
  problem.hidden = 1024;
  problem.intermediate = 512;
  EXPECT_REFUSED(mj_check(&problem), "moe_topk", NULL);
  problem.topk = 2;
  EXPECT_OK(mj_check(&problem));

  mj_problem_init(&problem);
  problem.dtype = (mj_dtype)7;
  EXPECT_REFUSED(mj_check(&problem), "c_api_argument", "problem.dtype");
  EXPECT_REFUSED(mj_check(NULL), "c_api_argument", "problem");
}

struct catalog_pick {
  size_t count;
  char prep_spec[128];
};

static void pick_prep_spec(void* user_data, const char* spec) {
  struct catalog_pick* pick = (struct catalog_pick*)user_data;
  ++pick->count;
  if (pick->prep_spec[0] == '\0' && strncmp(spec, "prep/", 5) == 0 && strlen(spec) < sizeof(pick->prep_spec)) {
    strcpy(pick->prep_spec, spec);
  }
}

struct progress_log {
  size_t calls, last_done, last_total;
  mj_status worst;
};

static void record_progress(void* user_data, size_t done, size_t total, const char* spec, mj_status status) {
  struct progress_log* log = (struct progress_log*)user_data;
  (void)spec;
  ++log->calls;
  log->last_done = done;
  log->last_total = total;
  if (status != MJ_OK) log->worst = status;
}

static void expect_origin(mj_runtime* runtime, const char* spec, int origin, const char* what) {
  mj_kernel_info info;
  mj_kernel_info_init(&info);
  EXPECT_OK(mj_compile(runtime, spec, &info));
  CHECK(info.origin == origin, "%s: origin %d, expected %d", what, info.origin, origin);
  CHECK(strlen(info.key_hex) == 32 && strspn(info.key_hex, "0123456789abcdef") == 32, "key %s", info.key_hex);
  CHECK(info.cubin_bytes > 0, "%s: cubin of %llu bytes", what, (unsigned long long)info.cubin_bytes);
}

/* Leaves the catalog's first prep spec for sm_90 in prep_spec (empty if none). */
static void test_compile(const char* cache_dir, const char* empty_dir, char prep_spec[128]) {
  struct catalog_pick pick = {0, ""};
  struct progress_log progress = {0, 0, 0, MJ_OK};
  mj_runtime_options options;
  mj_runtime* runtime = NULL;
  const char* specs[2];

  EXPECT_OK(mj_catalog(90, pick_prep_spec, &pick));
  CHECK(pick.count > 0 && pick.prep_spec[0] != '\0', "catalog for sm_90: %zu specs", pick.count);
  EXPECT_REFUSED(mj_catalog(75, pick_prep_spec, &pick), "sm_range", NULL);
  EXPECT_REFUSED(mj_catalog(90, NULL, NULL), "c_api_argument", "visit");
  if (pick.prep_spec[0] == '\0') return;
  strcpy(prep_spec, pick.prep_spec);

  mj_runtime_options_init(&options);
  options.cache_dir = cache_dir;
  EXPECT_OK(mj_runtime_create(&options, &runtime));
  if (runtime == NULL) return;
  expect_origin(runtime, pick.prep_spec, MJ_ORIGIN_COMPILED, "first compile (NVRTC)");
  expect_origin(runtime, pick.prep_spec, MJ_ORIGIN_MEMORY, "second compile (memory)");

  EXPECT_REFUSED(mj_compile(NULL, pick.prep_spec, NULL), "c_api_argument", "runtime");
  EXPECT_REFUSED(mj_compile(runtime, NULL, NULL), "c_api_argument", "spec");
  EXPECT_REFUSED(mj_compile(runtime, "dense/nvfp4/bf16/g16/sm_90/bogus", NULL), "spec_grammar", NULL);
  EXPECT_REFUSED(mj_compile(runtime, "dense/nvfp4/bf16/g32/sm_90/t256m1n8k8s4", NULL), "quant_group_size", "32");

  specs[0] = pick.prep_spec;
  specs[1] = pick.prep_spec;
  EXPECT_OK(mj_precompile(runtime, specs, 2, record_progress, &progress));
  CHECK(progress.calls == 2 && progress.last_done == 2 && progress.last_total == 2 && progress.worst == MJ_OK,
        "precompile progress: %zu calls, last %zu/%zu", progress.calls, progress.last_done, progress.last_total);
  specs[1] = "prep/nvfp4/not a spec";
  progress.calls = 0;
  EXPECT_REFUSED(mj_precompile(runtime, specs, 2, record_progress, &progress), "spec_grammar", NULL);
  CHECK(progress.calls == 0, "a bad spec is refused before anything compiles (%zu progress calls)", progress.calls);
  mj_runtime_destroy(runtime);

  /* A second runtime on the same folder finds the cubin on disk. */
  runtime = NULL;
  EXPECT_OK(mj_runtime_create(&options, &runtime));
  if (runtime != NULL) expect_origin(runtime, pick.prep_spec, MJ_ORIGIN_DISK, "new runtime (disk)");
  mj_runtime_destroy(runtime);

  /* A template folder without the templates: the request names a header that is not there. */
  runtime = NULL;
  options.template_dir = empty_dir;
  EXPECT_OK(mj_runtime_create(&options, &runtime));
  if (runtime != NULL) EXPECT_REFUSED(mj_compile(runtime, pick.prep_spec, NULL), "kernel_request", NULL);
  mj_runtime_destroy(runtime);
}

/* A copy of the templates whose entry points no longer compile: MJ_ERROR_COMPILE, with NVRTC's log kept. */
static void test_compile_error(const char* cache_dir, const char* broken_dir, const char* prep_spec) {
  char command[1024];
  mj_problem problem;
  mj_runtime_options options;
  mj_runtime* runtime = NULL;
  snprintf(command, sizeof(command),
           "cp -R '%s/marlin_jit' '%s/' && for f in '%s'/marlin_jit/entry/*.cuh; do "
           "echo 'c_api_test_breaks_this_line;' >> \"$f\"; done",
           MARLIN_JIT_TEMPLATE_SOURCE_DIR, broken_dir, broken_dir);
  CHECK(system(command) == 0, "copy the templates: %s", command);
  mj_runtime_options_init(&options);
  options.cache_dir = cache_dir;
  options.template_dir = broken_dir;
  EXPECT_OK(mj_runtime_create(&options, &runtime));
  if (runtime == NULL) return;
  EXPECT_STATUS(mj_compile(runtime, prep_spec, NULL), MJ_ERROR_COMPILE);
  CHECK(strstr(mj_last_compile_log(), "c_api_test_breaks_this_line") != NULL, "NVRTC log: %s", mj_last_compile_log());
  CHECK(strcmp(mj_last_error_rule(), "") == 0, "no rule for a compile error");
  mj_runtime_destroy(runtime);
  mj_problem_init(&problem);
  EXPECT_OK(mj_check(&problem));
  CHECK(strcmp(mj_last_compile_log(), "") == 0, "a later success clears the compile log");
}

int main(void) {
  char cache_dir[] = "/tmp/mj_c_api_cache_XXXXXX";
  char empty_dir[] = "/tmp/mj_c_api_templates_XXXXXX";
  char broken_dir[] = "/tmp/mj_c_api_broken_XXXXXX";
  char prep_spec[128] = "";
  char cache_command[256];
  unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
  if (mkdtemp(cache_dir) == NULL || mkdtemp(empty_dir) == NULL || mkdtemp(broken_dir) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  printf("c_api_test: marlin-jit %s, NVRTC %s, seed %u\n", mj_version(), mj_nvrtc_version(), seed);
  test_version();
  test_runtime_options(cache_dir);
  test_check();
  test_compile(cache_dir, empty_dir, prep_spec);
  if (prep_spec[0] != '\0') test_compile_error(cache_dir, broken_dir, prep_spec);
  run_gpu_linear_test(cache_dir, seed);

  snprintf(cache_command, sizeof(cache_command), "rm -rf '%s' '%s' '%s'", cache_dir, empty_dir, broken_dir);
  if (system(cache_command) != 0) fprintf(stderr, "could not remove %s\n", cache_dir);
  printf("c_api_test: %d checks, %d failed\n", test_checks, test_failures);
  return test_failures == 0 ? 0 : 1;
}
