// marlin_jit._core.Nvfp4Moe: one prepared NVFP4 mixture-of-experts layer (stacked [E, ...] checkpoint tensors).
// Sizes come from the weights (H = 2·w1.shape[2], I = 2·w2.shape[2]); every other tensor is checked against them
// before any GPU work. apply() releases the GIL and neither allocates nor synchronizes (graph capture: see README).
#include <optional>
#include <string>
#include <vector>

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "marlin_jit/nvfp4_moe.hpp"
#include "names.hpp"
#include "tensors.hpp"

namespace marlin_jit::python {
namespace {

struct MoeLayer {
  std::shared_ptr<Runtime> runtime;
  PreparedNvfp4Moe prepared;
};

struct MoeTensors {
  DeviceTensor w1, w1_scale, w2, w2_scale;
  std::optional<DeviceTensor> w1_bias, w2_bias;
};

MoeTensors checked_tensors(const Array& w1, const Array& w1_scale, const Array& w2, const Array& w2_scale,
                           const std::optional<Array>& w1_bias, const std::optional<Array>& w2_bias, bool gated) {
  const std::initializer_list<Element> scale_types = {Element::float8_e4m3fn, Element::uint8};
  MoeTensors t{device_tensor(w1, "w1", {Element::uint8}, 3, 3), device_tensor(w1_scale, "w1_scale", scale_types, 3, 3),
               device_tensor(w2, "w2", {Element::uint8}, 3, 3), device_tensor(w2_scale, "w2_scale", scale_types, 3, 3),
               std::nullopt, std::nullopt};
  const std::int64_t e = t.w1.shape[0], n1 = t.w1.shape[1], h = 2 * t.w1.shape[2], i = 2 * t.w2.shape[2];
  const std::string sizes = " (E = " + std::to_string(e) + ", H = " + std::to_string(h) +
                            ", I = " + std::to_string(i) + " from w1 [E, N1, H/2] and w2 [E, H, I/2])";
  check_shape(t.w1, "w1", {e, gated ? 2 * i : i, h / 2}, (gated ? "E, 2·I, H/2" : "E, I, H/2") + sizes);
  check_shape(t.w1_scale, "w1_scale", {e, n1, h / 16}, "E, N1, H/16" + sizes);
  check_shape(t.w2, "w2", {e, h, i / 2}, "E, H, I/2" + sizes);
  check_shape(t.w2_scale, "w2_scale", {e, h, i / 16}, "E, H, I/16" + sizes);
  std::vector<std::pair<const char*, const DeviceTensor*>> all = {
      {"w1", &t.w1}, {"w1_scale", &t.w1_scale}, {"w2", &t.w2}, {"w2_scale", &t.w2_scale}};
  if (w1_bias) {
    t.w1_bias = device_tensor(*w1_bias, "w1_bias", {Element::float32}, 2, 2);
    check_shape(*t.w1_bias, "w1_bias", {e, n1}, "E, N1" + sizes);
    all.push_back({"w1_bias", &*t.w1_bias});
  }
  if (w2_bias) {
    t.w2_bias = device_tensor(*w2_bias, "w2_bias", {Element::float32}, 2, 2);
    check_shape(*t.w2_bias, "w2_bias", {e, h}, "E, H" + sizes);
    all.push_back({"w2_bias", &*t.w2_bias});
  }
  check_devices(all);
  return t;
}

MoeLayer* prepare(RuntimeHandle& handle, const std::string& activation, const Array& w1, const Array& w1_scale,
                  std::vector<float> w1_scale_2, const Array& w2, const Array& w2_scale, std::vector<float> w2_scale_2,
                  const std::optional<Array>& w1_bias, const std::optional<Array>& w2_bias, std::uintptr_t stream) {
  const Activation act = activation_named(activation);
  const MoeTensors t = checked_tensors(w1, w1_scale, w2, w2_scale, w1_bias, w2_bias, act == Activation::silu_gated);
  Nvfp4MoeCheckpoint checkpoint;
  checkpoint.experts = t.w1.shape[0];
  checkpoint.hidden = 2 * t.w1.shape[2];
  checkpoint.intermediate = 2 * t.w2.shape[2];
  checkpoint.activation = act;
  checkpoint.w1 = t.w1.data;
  checkpoint.w1_scale = t.w1_scale.data;
  checkpoint.w1_scale_2 = std::move(w1_scale_2);
  checkpoint.w2 = t.w2.data;
  checkpoint.w2_scale = t.w2_scale.data;
  checkpoint.w2_scale_2 = std::move(w2_scale_2);
  checkpoint.w1_bias = t.w1_bias ? t.w1_bias->data : 0;
  checkpoint.w2_bias = t.w2_bias ? t.w2_bias->data : 0;
  nb::gil_scoped_release release;
  return new MoeLayer{handle.runtime, prepare_nvfp4_moe(*handle.runtime, checkpoint, as_stream(stream))};
}

void apply(const MoeLayer& layer, const Array& hidden_array, const Array& ids_array, const Array& weights_array,
           const Output& output_array, std::uintptr_t stream) {
  const std::int64_t h = layer.prepared.hidden();
  const DeviceTensor hidden = device_tensor(hidden_array, "x", {Element::float16, Element::bfloat16}, 2, 2);
  const DeviceTensor ids = device_tensor(ids_array, "topk_ids", {Element::int32}, 2, 2);
  const DeviceTensor weights = device_tensor(weights_array, "topk_weights", {Element::float32}, 2, 2);
  const DeviceTensor output = device_tensor(Array(output_array), "out", {hidden.element}, 2, 2);
  const std::int64_t m = hidden.shape[0], topk = ids.shape[1];
  check_shape(hidden, "x", {m, h}, "M, H with H = " + std::to_string(h));
  check_shape(ids, "topk_ids", {m, topk}, "M, topk");
  check_shape(weights, "topk_weights", {m, topk}, "M, topk like topk_ids");
  check_shape(output, "out", {m, h}, "M, H like x");
  check_devices({{"x", &hidden}, {"topk_ids", &ids}, {"topk_weights", &weights}, {"out", &output}});
  const MoeApplyArgs args{hidden.data, ids.data, weights.data, output.data, m, static_cast<int>(topk),
                          activation_dtype(hidden)};
  nb::gil_scoped_release release;
  apply_nvfp4_moe(*layer.runtime, layer.prepared, args, as_stream(stream));
}

}  // namespace

void bind_moe(nb::module_& module) {
  nb::class_<MoeLayer>(module, "Nvfp4Moe")
      .def_static("prepare", &prepare, nb::arg("runtime"), nb::arg("activation"), nb::arg("w1"), nb::arg("w1_scale"),
                  nb::arg("w1_scale_2"), nb::arg("w2"), nb::arg("w2_scale"), nb::arg("w2_scale_2"),
                  nb::arg("w1_bias").none(), nb::arg("w2_bias").none(), nb::arg("stream"),
                  nb::rv_policy::take_ownership)
      .def("apply", &apply, nb::arg("x"), nb::arg("topk_ids"), nb::arg("topk_weights"), nb::arg("out"),
           nb::arg("stream"))
      .def_prop_ro("experts", [](const MoeLayer& l) { return l.prepared.experts(); })
      .def_prop_ro("hidden", [](const MoeLayer& l) { return l.prepared.hidden(); })
      .def_prop_ro("intermediate", [](const MoeLayer& l) { return l.prepared.intermediate(); })
      .def_prop_ro("activation", [](const MoeLayer& l) { return to_string(l.prepared.activation()); })
      .def_prop_ro("device", [](const MoeLayer& l) { return l.prepared.device(); });
}

}  // namespace marlin_jit::python
