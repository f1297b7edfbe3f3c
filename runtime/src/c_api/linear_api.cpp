// mj_nvfp4_linear_*: prepare, apply and destroy dense NVFP4 layers through marlin_jit/nvfp4_linear.hpp.
#include "c_api/boundary.hpp"
#include "c_api/enums.hpp"
#include "c_api/handles.hpp"

namespace marlin_jit::c_api {
namespace {

Nvfp4CheckpointLayer to_checkpoint(const mj_nvfp4_linear_weights& given) {
  require_struct_size(given.struct_size, sizeof(mj_nvfp4_linear_weights), "weights");
  Nvfp4CheckpointLayer layer;
  layer.weight = device_pointer(given.weight);
  layer.weight_scale = device_pointer(given.weight_scale);
  layer.weight_scale_2 = given.weight_scale_2;
  layer.n = given.n;
  layer.k = given.k;
  return layer;
}

LinearApplyArgs to_apply_args(const mj_linear_apply_args& given) {
  require_struct_size(given.struct_size, sizeof(mj_linear_apply_args), "args");
  LinearApplyArgs args;
  args.input = device_pointer(given.input);
  args.output = device_pointer(given.output);
  args.bias = device_pointer(given.bias);
  args.m = given.m;
  args.dtype = to_dtype(given.dtype, "args.dtype");
  args.path = to_gemm_path(given.path, "args.path");
  return args;
}

}  // namespace
}  // namespace marlin_jit::c_api

using namespace marlin_jit::c_api;

extern "C" {

void mj_nvfp4_linear_weights_init(mj_nvfp4_linear_weights* weights) {
  if (weights == nullptr) return;
  *weights = mj_nvfp4_linear_weights{};
  weights->struct_size = sizeof(mj_nvfp4_linear_weights);
  weights->weight_scale_2 = 1.0f;
}

void mj_linear_apply_args_init(mj_linear_apply_args* args) {
  if (args == nullptr) return;
  *args = mj_linear_apply_args{};
  args->struct_size = sizeof(mj_linear_apply_args);
  args->dtype = MJ_DTYPE_BF16;
  args->path = MJ_GEMM_AUTOMATIC;
}

mj_status mj_nvfp4_linear_prepare(mj_runtime* runtime, const mj_nvfp4_linear_weights* weights, void* stream,
                                  mj_nvfp4_linear** layer) {
  return guarded([&] {
    require(layer, "layer");
    *layer = nullptr;
    mj_runtime& target = require(runtime, "runtime");
    marlin_jit::Nvfp4CheckpointLayer checkpoint = to_checkpoint(require(weights, "weights"));
    *layer = new mj_nvfp4_linear{marlin_jit::prepare_nvfp4_linear(target.runtime, checkpoint, cuda_stream(stream))};
  });
}

mj_status mj_nvfp4_linear_apply(mj_runtime* runtime, const mj_nvfp4_linear* layer, const mj_linear_apply_args* args,
                                void* stream) {
  return guarded([&] {
    mj_runtime& target = require(runtime, "runtime");
    const mj_nvfp4_linear& prepared = require(layer, "layer");
    marlin_jit::apply_nvfp4_linear(target.runtime, prepared.layer, to_apply_args(require(args, "args")),
                                   cuda_stream(stream));
  });
}

void mj_nvfp4_linear_destroy(mj_nvfp4_linear* layer) { delete layer; }  // destructors never throw

}  // extern "C"
