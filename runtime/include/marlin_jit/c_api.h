/* The C ABI of marlin-jit (C99): opaque handles, a status code per call, the message in thread-local storage.
 *
 * Every function that can fail returns mj_status (MJ_OK = 0; the others equal marlin_jit::ErrorCode) and clears or
 * sets the calling thread's last error: mj_last_error_message(), mj_last_error_rule() (the ConfigError's rule, e.g.
 * "quant_group_size") and mj_last_compile_log() (NVRTC's whole log after MJ_ERROR_COMPILE). No C++ exception ever
 * crosses this boundary. Bad arguments at the boundary (a null handle, a wrong struct_size, an enum value out of
 * range, an empty path) are MJ_ERROR_CONFIG with rule "c_api_argument" and the parameter as the value.
 *
 * Device pointers are raw CUDA device addresses (CUdeviceptr) passed as void*; streams are CUstream passed as void*
 * (NULL: the legacy default stream). Structs carry struct_size: fill them with the matching mj_*_init() first, so a
 * later library version can grow them without breaking this ABI.
 *
 *   mj_runtime* runtime = NULL;
 *   mj_runtime_options options;
 *   mj_runtime_options_init(&options);
 *   options.cache_dir = "/var/cache/my-engine/marlin-jit";
 *   if (mj_runtime_create(&options, &runtime) != MJ_OK) fprintf(stderr, "%s\n", mj_last_error_message());
 *   mj_compile(runtime, "dense/nvfp4/bf16/g16/sm_90/t256m1n8k8s4", NULL);
 *   mj_runtime_destroy(runtime);
 */
#ifndef MARLIN_JIT_C_API_H
#define MARLIN_JIT_C_API_H

#include <stddef.h>
#include <stdint.h>

#include "marlin_jit/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mj_status {
  MJ_OK = 0,
  MJ_ERROR_CONFIG = 1,   /* refused before any work; mj_last_error_rule() names the rule */
  MJ_ERROR_COMPILE = 2,  /* NVRTC failed; mj_last_compile_log() holds its log */
  MJ_ERROR_DRIVER = 3,   /* libcuda missing, no device, or a cu* call failed */
  MJ_ERROR_CACHE = 4,
  MJ_ERROR_INTERNAL = 5  /* a broken invariant, or an error from outside marlin-jit (e.g. out of host memory) */
} mj_status;

typedef enum mj_kernel_kind { MJ_KIND_DENSE = 0, MJ_KIND_MOE = 1, MJ_KIND_PREP = 2 } mj_kernel_kind;
typedef enum mj_quant {
  MJ_QUANT_NVFP4 = 0,
  MJ_QUANT_MXFP4 = 1,
  MJ_QUANT_UINT4B8 = 2,
  MJ_QUANT_UINT4 = 3,
  MJ_QUANT_UINT8B128 = 4
} mj_quant;
typedef enum mj_dtype { MJ_DTYPE_FP16 = 0, MJ_DTYPE_BF16 = 1 } mj_dtype;
typedef enum mj_activation {
  MJ_ACTIVATION_NONE = 0,
  MJ_ACTIVATION_SILU_GATED = 1,
  MJ_ACTIVATION_RELU2 = 2
} mj_activation;
typedef enum mj_gemm_path { MJ_GEMM_AUTOMATIC = 0, MJ_GEMM_MARLIN = 1, MJ_GEMM_DEQUANT_CUBLAS = 2 } mj_gemm_path;

/* ---- versions and errors (never fail; the strings live as long as the process, or the thread for errors) */

MARLIN_JIT_EXPORT const char* mj_version(void);       /* the library's version, "0.2.0" */
MARLIN_JIT_EXPORT int mj_version_major(void);
MARLIN_JIT_EXPORT int mj_version_minor(void);
MARLIN_JIT_EXPORT const char* mj_nvrtc_version(void); /* of the NVRTC actually loaded, "13.0" */
MARLIN_JIT_EXPORT const char* mj_last_error_message(void);  /* "" after a call that succeeded */
MARLIN_JIT_EXPORT const char* mj_last_error_rule(void);     /* "" unless the last error was MJ_ERROR_CONFIG */
MARLIN_JIT_EXPORT const char* mj_last_error_value(void);    /* the refused value of that ConfigError, or "" */
MARLIN_JIT_EXPORT const char* mj_last_compile_log(void);    /* "" unless the last error was MJ_ERROR_COMPILE */
MARLIN_JIT_EXPORT const char* mj_status_name(mj_status status); /* "MJ_ERROR_CONFIG"; "unknown" off the enum */

/* ---- runtime */

typedef struct mj_runtime mj_runtime;

typedef struct mj_runtime_options {
  size_t struct_size;
  const char* cache_dir;    /* NULL: MARLIN_JIT_CACHE_DIR, else $XDG_CACHE_HOME/marlin-jit, else ~/.cache/marlin-jit */
  const char* template_dir; /* NULL: MARLIN_JIT_TEMPLATE_DIR, else the templates embedded in the library */
  uint64_t cache_max_bytes; /* 0: MARLIN_JIT_CACHE_MAX_BYTES, else 2 GiB */
  const char* const* read_only_cache_dirs; /* searched after cache_dir, never written; count 0: the environment's */
  size_t read_only_cache_dir_count;
} mj_runtime_options;

MARLIN_JIT_EXPORT void mj_runtime_options_init(mj_runtime_options* options);
/* options may be NULL (all defaults). On success *runtime is a new runtime for mj_runtime_destroy. */
MARLIN_JIT_EXPORT mj_status mj_runtime_create(const mj_runtime_options* options, mj_runtime** runtime);
MARLIN_JIT_EXPORT void mj_runtime_destroy(mj_runtime* runtime); /* NULL: nothing */

/* ---- the dispatcher's rules: compiles nothing, needs no GPU */

#define MJ_UNSET INT64_MIN /* a size left unset in mj_problem is not checked */

typedef struct mj_problem {
  size_t struct_size;
  mj_kernel_kind kind;     /* default MJ_KIND_DENSE */
  mj_quant quant;          /* default MJ_QUANT_NVFP4 */
  int group_size;          /* default 16; -1: per channel */
  mj_dtype dtype;          /* default MJ_DTYPE_BF16 */
  int sm;                  /* default 90 */
  int64_t m, n, k;         /* default MJ_UNSET */
  mj_activation activation;                     /* MoE; default MJ_ACTIVATION_SILU_GATED */
  int64_t hidden, intermediate, experts, topk;  /* MoE; default MJ_UNSET */
} mj_problem;

MARLIN_JIT_EXPORT void mj_problem_init(mj_problem* problem);
/* MJ_OK when supported; MJ_ERROR_CONFIG with the refusing rule otherwise. */
MARLIN_JIT_EXPORT mj_status mj_check(const mj_problem* problem);

/* ---- kernel specs, in the CLI's grammar ("dense/nvfp4/bf16/g16/sm_90/t256m1n8k8s4", see kernel_spec.hpp) */

/* Called once per spec; the string is valid during the call only. */
typedef void (*mj_spec_visitor)(void* user_data, const char* spec);
/* Every spec the dispatcher can pick for `sm` (0: every supported SM), in catalog order. */
MARLIN_JIT_EXPORT mj_status mj_catalog(int sm, mj_spec_visitor visit, void* user_data);

typedef enum mj_kernel_origin { MJ_ORIGIN_COMPILED = 0, MJ_ORIGIN_DISK = 1, MJ_ORIGIN_MEMORY = 2 } mj_kernel_origin;

typedef struct mj_kernel_info {
  size_t struct_size;
  char key_hex[33];        /* the cache key, NUL-terminated */
  int origin;              /* an mj_kernel_origin: compiled by this call, found on disk, or found in memory */
  double compile_seconds;  /* of the compile that produced the cubin (0 if unknown) */
  int registers;           /* per thread */
  uint64_t cubin_bytes;
} mj_kernel_info;

MARLIN_JIT_EXPORT void mj_kernel_info_init(mj_kernel_info* info);
/* Grammar, then the dispatcher's rules, then compile or find the cubin (no GPU needed). info may be NULL. */
MARLIN_JIT_EXPORT mj_status mj_compile(mj_runtime* runtime, const char* spec, mj_kernel_info* info);

/* After each spec: done of total, the spec, its status (its message is mj_last_error_message() meanwhile). */
typedef void (*mj_progress_fn)(void* user_data, size_t done, size_t total, const char* spec, mj_status status);
/* Compiles every spec in order and goes on past failures; returns MJ_OK, or the first failure's status with its
   error left as the last error. Every spec is checked against the grammar before anything compiles. */
MARLIN_JIT_EXPORT mj_status mj_precompile(mj_runtime* runtime, const char* const* specs, size_t count,
                                          mj_progress_fn progress, void* user_data);

/* ---- NVFP4 dense linear layers (see marlin_jit/nvfp4_linear.hpp) */

typedef struct mj_nvfp4_linear mj_nvfp4_linear;

typedef struct mj_nvfp4_linear_weights {
  size_t struct_size;
  const void* weight;        /* device: uint8 [N, K/2], two e2m1 codes a byte, lower K index in the low nibble */
  const void* weight_scale;  /* device: float8_e4m3fn [N, K/16] */
  float weight_scale_2;      /* global scale */
  int64_t n, k;
} mj_nvfp4_linear_weights;

typedef struct mj_linear_apply_args {
  size_t struct_size;
  const void* input;  /* device: [M, K] row-major, dtype */
  void* output;       /* device: [M, N] row-major, dtype */
  const void* bias;   /* device: [N] dtype, or NULL */
  int64_t m;
  mj_dtype dtype;
  mj_gemm_path path;  /* default MJ_GEMM_AUTOMATIC */
} mj_linear_apply_args;

MARLIN_JIT_EXPORT void mj_nvfp4_linear_weights_init(mj_nvfp4_linear_weights* weights);
MARLIN_JIT_EXPORT void mj_linear_apply_args_init(mj_linear_apply_args* args);
/* Prepares on `stream` and waits; the checkpoint buffers may be freed afterwards. */
MARLIN_JIT_EXPORT mj_status mj_nvfp4_linear_prepare(mj_runtime* runtime, const mj_nvfp4_linear_weights* weights,
                                                    void* stream, mj_nvfp4_linear** layer);
/* Enqueues output = input · Wᵀ (+ bias) on `stream`. */
MARLIN_JIT_EXPORT mj_status mj_nvfp4_linear_apply(mj_runtime* runtime, const mj_nvfp4_linear* layer,
                                                  const mj_linear_apply_args* args, void* stream);
MARLIN_JIT_EXPORT void mj_nvfp4_linear_destroy(mj_nvfp4_linear* layer); /* NULL: nothing */

/* ---- NVFP4 mixture-of-experts layers (see marlin_jit/nvfp4_moe.hpp) */

typedef struct mj_nvfp4_moe mj_nvfp4_moe;

typedef struct mj_nvfp4_moe_weights {
  size_t struct_size;
  int64_t experts, hidden, intermediate;  /* E, H, I */
  mj_activation activation;               /* default MJ_ACTIVATION_SILU_GATED */
  const void* w1;                  /* device: uint8 [E, N1, H/2], N1 = 2·I (gate rows, then up rows) or I */
  const void* w1_scale;            /* device: float8_e4m3fn [E, N1, H/16] */
  const float* w1_scale_2;         /* host: [E] */
  const void* w2;                  /* device: uint8 [E, H, I/2] */
  const void* w2_scale;            /* device: float8_e4m3fn [E, H, I/16] */
  const float* w2_scale_2;         /* host: [E] */
  const void* w1_bias;             /* device: float32 [E, N1], or NULL */
  const void* w2_bias;             /* device: float32 [E, H], or NULL */
} mj_nvfp4_moe_weights;

typedef struct mj_moe_apply_args {
  size_t struct_size;
  const void* hidden_states;  /* device: [M, H] dtype */
  const void* topk_ids;       /* device: int32 [M, topk] */
  const void* topk_weights;   /* device: float32 [M, topk] */
  void* output;               /* device: [M, H] dtype, not aliasing hidden_states */
  int64_t m;
  int topk;
  mj_dtype dtype;
} mj_moe_apply_args;

MARLIN_JIT_EXPORT void mj_nvfp4_moe_weights_init(mj_nvfp4_moe_weights* weights);
MARLIN_JIT_EXPORT void mj_moe_apply_args_init(mj_moe_apply_args* args);
MARLIN_JIT_EXPORT mj_status mj_nvfp4_moe_prepare(mj_runtime* runtime, const mj_nvfp4_moe_weights* weights,
                                                 void* stream, mj_nvfp4_moe** layer);
MARLIN_JIT_EXPORT mj_status mj_nvfp4_moe_apply(mj_runtime* runtime, const mj_nvfp4_moe* layer,
                                               const mj_moe_apply_args* args, void* stream);
MARLIN_JIT_EXPORT void mj_nvfp4_moe_destroy(mj_nvfp4_moe* layer); /* NULL: nothing */
/* Out-of-range routing ids met by finished calls on `stream` since the last report; resets the count. */
MARLIN_JIT_EXPORT mj_status mj_moe_routing_errors(void* stream, uint64_t* count);

#ifdef __cplusplus
}
#endif

#endif /* MARLIN_JIT_C_API_H */
