// mj_nvfp4_moe_*: prepare, apply and destroy NVFP4 mixture-of-experts layers through marlin_jit/nvfp4_moe.hpp.
#include <vector>

#include "c_api/boundary.hpp"
#include "c_api/enums.hpp"
#include "c_api/handles.hpp"
#include "marlin_jit/dispatch.hpp"

namespace marlin_jit::c_api {
namespace {

// Host scale arrays of `experts` floats. An expert count the dispatcher refuses (rule moe_experts) reads nothing:
// prepare_nvfp4_moe then refuses it by that rule before looking at the scales.
std::vector<float> host_scales(const float* scales, std::int64_t experts, const char* parameter) {
  if (experts <= 0 || experts > kMaxExperts) return {};
  require(scales, parameter);
  return std::vector<float>(scales, scales + experts);
}

Nvfp4MoeCheckpoint to_checkpoint(const mj_nvfp4_moe_weights& given) {
  require_struct_size(given.struct_size, sizeof(mj_nvfp4_moe_weights), "weights");
  Nvfp4MoeCheckpoint checkpoint;
  checkpoint.experts = given.experts;
  checkpoint.hidden = given.hidden;
  checkpoint.intermediate = given.intermediate;
  checkpoint.activation = to_activation(given.activation, "weights.activation");
  checkpoint.w1 = device_pointer(given.w1);
  checkpoint.w1_scale = device_pointer(given.w1_scale);
  checkpoint.w1_scale_2 = host_scales(given.w1_scale_2, given.experts, "weights.w1_scale_2");
  checkpoint.w2 = device_pointer(given.w2);
  checkpoint.w2_scale = device_pointer(given.w2_scale);
  checkpoint.w2_scale_2 = host_scales(given.w2_scale_2, given.experts, "weights.w2_scale_2");
  checkpoint.w1_bias = device_pointer(given.w1_bias);
  checkpoint.w2_bias = device_pointer(given.w2_bias);
  return checkpoint;
}

MoeApplyArgs to_apply_args(const mj_moe_apply_args& given) {
  require_struct_size(given.struct_size, sizeof(mj_moe_apply_args), "args");
  MoeApplyArgs args;
  args.hidden_states = device_pointer(given.hidden_states);
  args.topk_ids = device_pointer(given.topk_ids);
  args.topk_weights = device_pointer(given.topk_weights);
  args.output = device_pointer(given.output);
  args.m = given.m;
  args.topk = given.topk;
  args.dtype = to_dtype(given.dtype, "args.dtype");
  return args;
}

}  // namespace
}  // namespace marlin_jit::c_api

using namespace marlin_jit::c_api;

extern "C" {

void mj_nvfp4_moe_weights_init(mj_nvfp4_moe_weights* weights) {
  if (weights == nullptr) return;
  *weights = mj_nvfp4_moe_weights{};
  weights->struct_size = sizeof(mj_nvfp4_moe_weights);
  weights->activation = MJ_ACTIVATION_SILU_GATED;
}

void mj_moe_apply_args_init(mj_moe_apply_args* args) {
  if (args == nullptr) return;
  *args = mj_moe_apply_args{};
  args->struct_size = sizeof(mj_moe_apply_args);
  args->topk = 1;
  args->dtype = MJ_DTYPE_BF16;
}

mj_status mj_nvfp4_moe_prepare(mj_runtime* runtime, const mj_nvfp4_moe_weights* weights, void* stream,
                               mj_nvfp4_moe** layer) {
  return guarded([&] {
    require(layer, "layer");
    *layer = nullptr;
    mj_runtime& target = require(runtime, "runtime");
    marlin_jit::Nvfp4MoeCheckpoint checkpoint = to_checkpoint(require(weights, "weights"));
    *layer = new mj_nvfp4_moe{marlin_jit::prepare_nvfp4_moe(target.runtime, checkpoint, cuda_stream(stream))};
  });
}

mj_status mj_nvfp4_moe_apply(mj_runtime* runtime, const mj_nvfp4_moe* layer, const mj_moe_apply_args* args,
                             void* stream) {
  return guarded([&] {
    mj_runtime& target = require(runtime, "runtime");
    const mj_nvfp4_moe& prepared = require(layer, "layer");
    marlin_jit::apply_nvfp4_moe(target.runtime, prepared.layer, to_apply_args(require(args, "args")),
                                cuda_stream(stream));
  });
}

void mj_nvfp4_moe_destroy(mj_nvfp4_moe* layer) { delete layer; }  // destructors never throw

mj_status mj_moe_routing_errors(void* stream, uint64_t* count) {
  return guarded([&] { require(count, "count") = marlin_jit::moe_routing_errors(cuda_stream(stream)); });
}

}  // extern "C"
