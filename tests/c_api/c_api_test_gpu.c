/* The GPU part of the C test: a random NVFP4 layer (ModelOpt layout) prepared and applied through the C ABI, its
 * fp16 output compared with a float64 reference of the dequantized weights computed here. */
#include "c_api_test_gpu.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "c_api_test_driver.h"
#include "c_api_test_support.h"

enum { kM = 7, kN = 256, kK = 512, kGroup = 16 };

static double e2m1_value(unsigned code) {
  static const double magnitude[8] = {0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0};
  return (code & 8u) ? -magnitude[code & 7u] : magnitude[code & 7u];
}

/* float8_e4m3fn, normal values only (the generator below makes no others): 1.mmm · 2^(eeee − 7). */
static double e4m3_value(unsigned char bits) {
  return ldexp(1.0 + (double)(bits & 7u) / 8.0, (int)((bits >> 3) & 15u) - 7);
}

/* A value fp16 holds exactly (a multiple of 1/32 in [-1, 1] here), as fp16 bits. */
static uint16_t exact_half_bits(double value) {
  uint16_t sign = (uint16_t)(value < 0 ? 0x8000u : 0u);
  int exponent = 0;
  double fraction = frexp(fabs(value), &exponent); /* |value| = fraction · 2^exponent, fraction in [0.5, 1) */
  if (value == 0.0) return sign;
  return (uint16_t)(sign | (unsigned)((exponent + 14) << 10) | (unsigned)((2.0 * fraction - 1.0) * 1024.0));
}

static double half_value(uint16_t bits) {
  unsigned exponent = (bits >> 10) & 31u, mantissa = bits & 1023u;
  double magnitude = exponent == 0    ? ldexp((double)mantissa, -24)
                     : exponent == 31 ? NAN
                                      : ldexp(1.0 + (double)mantissa / 1024.0, (int)exponent - 15);
  return (bits & 0x8000u) ? -magnitude : magnitude;
}

struct host_layer {
  unsigned char weight[kN * kK / 2];     /* two e2m1 codes a byte, lower K index in the low nibble */
  unsigned char scale[kN * kK / kGroup]; /* e4m3 */
  uint16_t input[kM * kK];               /* fp16 */
  uint16_t output[kM * kN];
  double reference[kM * kN];
  float global_scale;
};

static void make_layer(struct host_layer* layer) {
  int i, row, col, k;
  for (i = 0; i < kN * kK / 2; ++i) layer->weight[i] = (unsigned char)(rand() & 0xFF);
  for (i = 0; i < kN * kK / kGroup; ++i) layer->scale[i] = (unsigned char)(((4 + rand() % 5) << 3) | (rand() & 7));
  for (i = 0; i < kM * kK; ++i) layer->input[i] = exact_half_bits((double)(rand() % 65 - 32) / 32.0);
  layer->global_scale = 0.25f;
  for (row = 0; row < kM; ++row) {
    for (col = 0; col < kN; ++col) {
      double sum = 0.0;
      for (k = 0; k < kK; ++k) {
        unsigned byte = layer->weight[(col * kK + k) / 2];
        double w = e2m1_value(k % 2 == 0 ? byte & 15u : byte >> 4) * e4m3_value(layer->scale[(col * kK + k) / kGroup]);
        sum += half_value(layer->input[row * kK + k]) * w * layer->global_scale;
      }
      layer->reference[row * kN + col] = sum;
    }
  }
}

static double relative_l2_error(const struct host_layer* layer) {
  double difference = 0.0, norm = 0.0;
  int i;
  for (i = 0; i < kM * kN; ++i) {
    double got = half_value(layer->output[i]), want = layer->reference[i];
    difference += (got - want) * (got - want);
    norm += want * want;
  }
  return sqrt(difference / norm);
}

static void* as_pointer(test_device_ptr address) { return (void*)(uintptr_t)address; }

/* Uploads, prepares through the C ABI (stream NULL: the legacy default stream), applies, downloads. */
static void prepare_and_apply(struct test_driver* driver, mj_runtime* runtime, struct host_layer* layer) {
  test_device_ptr weight = 0, scale = 0, input = 0, output = 0;
  mj_nvfp4_linear_weights weights;
  mj_linear_apply_args args;
  mj_nvfp4_linear* prepared = NULL;
  CHECK(driver->mem_alloc(&weight, sizeof(layer->weight)) == 0 &&
            driver->mem_alloc(&scale, sizeof(layer->scale)) == 0 &&
            driver->mem_alloc(&input, sizeof(layer->input)) == 0 &&
            driver->mem_alloc(&output, sizeof(layer->output)) == 0,
        "cuMemAlloc");
  memset(layer->output, 0xFF, sizeof(layer->output)); /* NaN: an unwritten output never passes */
  driver->memcpy_htod(weight, layer->weight, sizeof(layer->weight));
  driver->memcpy_htod(scale, layer->scale, sizeof(layer->scale));
  driver->memcpy_htod(input, layer->input, sizeof(layer->input));
  driver->memcpy_htod(output, layer->output, sizeof(layer->output));

  mj_nvfp4_linear_weights_init(&weights);
  weights.weight = as_pointer(weight);
  weights.weight_scale = as_pointer(scale);
  weights.weight_scale_2 = layer->global_scale;
  weights.n = kN;
  weights.k = kK;
  EXPECT_OK(mj_nvfp4_linear_prepare(runtime, &weights, NULL, &prepared));
  mj_linear_apply_args_init(&args);
  args.input = as_pointer(input);
  args.output = as_pointer(output);
  args.m = kM;
  args.dtype = MJ_DTYPE_FP16;
  EXPECT_OK(mj_nvfp4_linear_apply(runtime, prepared, &args, NULL));
  args.m = -1;
  EXPECT_REFUSED(mj_nvfp4_linear_apply(runtime, prepared, &args, NULL), "shape_positive", NULL);
  CHECK(driver->ctx_synchronize() == 0, "cuCtxSynchronize");
  driver->memcpy_dtoh(layer->output, output, sizeof(layer->output));
  mj_nvfp4_linear_destroy(prepared);
  driver->mem_free(weight);
  driver->mem_free(scale);
  driver->mem_free(input);
  driver->mem_free(output);
}

void run_gpu_linear_test(const char* cache_dir, unsigned seed) {
  struct test_driver driver;
  struct host_layer* layer;
  mj_runtime_options options;
  mj_runtime* runtime = NULL;
  int sm = 0;
  double error;
  const char* why_not = test_driver_open(&driver, &sm);
  if (why_not != NULL) {
    printf("c_api_test: GPU part SKIPPED: %s\n", why_not);
    return;
  }
  srand(seed);
  layer = (struct host_layer*)malloc(sizeof(*layer));
  if (layer == NULL) return;
  make_layer(layer);
  mj_runtime_options_init(&options);
  options.cache_dir = cache_dir;
  EXPECT_OK(mj_runtime_create(&options, &runtime));
  if (runtime != NULL) {
    prepare_and_apply(&driver, runtime, layer);
    error = relative_l2_error(layer);
    /* fp16 output rounding alone is ~3e-4; NaN (an unwritten output) fails the comparison. */
    CHECK(error < 1e-3, "sm_%d: relative L2 error %g against the float64 reference (seed %u)", sm, error, seed);
    printf("c_api_test: GPU part on sm_%d: %dx%dx%d fp16, relative L2 error %.3g\n", sm, kM, kN, kK, error);
  }
  mj_runtime_destroy(runtime);
  free(layer);
}
