// marlin_jit._core.Nvfp4Linear: one prepared NVFP4 dense layer. prepare() checks the checkpoint tensors (dtypes,
// ranks, shapes against each other, layout, device) before any GPU work; apply() checks the activations the same
// way, then enqueues on the caller's stream with the GIL released (nothing here allocates or synchronizes, so it
// runs inside CUDA graph capture once the shape has run eagerly on that stream).
#include <optional>
#include <string>

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include "bindings.hpp"
#include "marlin_jit/error.hpp"
#include "marlin_jit/nvfp4_linear.hpp"
#include "tensors.hpp"

namespace marlin_jit::python {
namespace {

GemmPath path_named(const std::string& name) {
  if (name == "automatic") return GemmPath::automatic;
  if (name == "marlin") return GemmPath::marlin;
  if (name == "dequant_cublas") return GemmPath::dequant_cublas;
  throw ConfigError("gemm_path", name, "automatic, marlin, dequant_cublas",
                    "'" + name + "' is not a GEMM path: allowed automatic, marlin, dequant_cublas (rule gemm_path)");
}

LinearLayer* prepare(RuntimeHandle& handle, const Array& weight_array, const Array& scale_array,
                     float weight_scale_2, std::uintptr_t stream) {
  const DeviceTensor weight = device_tensor(weight_array, "weight", {Element::uint8}, 2, 2);
  const DeviceTensor scale =
      device_tensor(scale_array, "weight_scale", {Element::float8_e4m3fn, Element::uint8}, 2, 2);
  const std::int64_t n = weight.shape[0], k = 2 * weight.shape[1];
  check_shape(scale, "weight_scale", {n, k / 16}, "N, K/16 for weight [N, K/2] = " + shape_text(weight.shape));
  check_devices({{"weight", &weight}, {"weight_scale", &scale}});
  const Nvfp4CheckpointLayer layer{weight.data, scale.data, weight_scale_2, n, k};
  nb::gil_scoped_release release;
  return new LinearLayer{handle.runtime, prepare_nvfp4_linear(*handle.runtime, layer, as_stream(stream))};
}

void apply(const LinearLayer& layer, const Array& input_array, const Output& output_array,
           const std::optional<Array>& bias_array, std::uintptr_t stream, const std::string& path) {
  const std::int64_t n = layer.prepared.n(), k = layer.prepared.k();
  const DeviceTensor input = device_tensor(input_array, "x", {Element::float16, Element::bfloat16}, 1, 8);
  const DeviceTensor output = device_tensor(Array(output_array), "out", {input.element}, 1, 8);
  std::vector<std::int64_t> expected = input.shape;
  expected.back() = k;
  check_shape(input, "x", expected, "[..., K] with K = " + std::to_string(k));
  expected.back() = n;
  check_shape(output, "out", expected, "x's shape with N = " + std::to_string(n) + " last");
  LinearApplyArgs args{input.data, output.data, 0, input.rows(), activation_dtype(input), path_named(path)};
  std::vector<std::pair<const char*, const DeviceTensor*>> operands = {{"x", &input}, {"out", &output}};
  std::optional<DeviceTensor> bias;
  if (bias_array) {
    bias = device_tensor(*bias_array, "bias", {input.element}, 1, 1);
    check_shape(*bias, "bias", {n}, "N");
    args.bias = bias->data;
    operands.push_back({"bias", &*bias});
  }
  check_devices(operands);
  nb::gil_scoped_release release;
  apply_nvfp4_linear(*layer.runtime, layer.prepared, args, as_stream(stream));
}

}  // namespace

void bind_linear(nb::module_& module) {
  nb::class_<LinearLayer>(module, "Nvfp4Linear")
      .def_static("prepare", &prepare, nb::arg("runtime"), nb::arg("weight"), nb::arg("weight_scale"),
                  nb::arg("weight_scale_2"), nb::arg("stream"), nb::rv_policy::take_ownership)
      .def("apply", &apply, nb::arg("x"), nb::arg("out"), nb::arg("bias").none(), nb::arg("stream"),
           nb::arg("path") = "automatic")
      .def_prop_ro("n", [](const LinearLayer& l) { return l.prepared.n(); })
      .def_prop_ro("k", [](const LinearLayer& l) { return l.prepared.k(); })
      .def_prop_ro("padded_n", [](const LinearLayer& l) { return l.prepared.padded_n(); })
      .def_prop_ro("device", [](const LinearLayer& l) { return l.prepared.device(); });
}

}  // namespace marlin_jit::python
