// DLPack tensors handed in from Python (torch, CuPy, JAX, NumPy through nanobind's ndarray), checked before any
// GPU work: element type, rank and layout of each, shapes against each other, and last the devices (so that host
// arrays exercise every other check). Refusals are ConfigErrors naming the
// tensor, the rule (tensor_dtype, tensor_shape, tensor_layout, tensor_device) and the value.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <cuda.h>
#include <nanobind/ndarray.h>

#include "marlin_jit/types.hpp"

namespace marlin_jit::python {

namespace nb = nanobind;
// Inputs are imported read-only (JAX exports only read-only arrays); outputs writable (Output), checked as Array.
using Array = nb::ndarray<nb::ro>;
using Output = nb::ndarray<>;

// The element types the API takes. DLPack 1.0 codes: kDLUInt 1, kDLFloat 2, kDLBfloat 4, kDLInt 0, and
// kDLFloat8_e4m3fn 10 (older exporters, e.g. torch before DLPack 1.0 support, cannot export float8: pass a uint8
// view of the same bytes, which is accepted wherever float8_e4m3fn is).
enum class Element { uint8, float8_e4m3fn, float16, bfloat16, float32, int32 };

std::string to_string(Element element);

struct DeviceTensor {
  CUdeviceptr data = 0;
  std::vector<std::int64_t> shape;
  std::int32_t device_type = 0;  // DLPack's: 2 is CUDA
  int device = 0;
  Element element = Element::uint8;
  std::int64_t rows() const;  // product of every dimension but the last (1 for rank 1)
};

// Checks `array` (named `name` in errors) against the allowed element types and rank (`min_rank`..`max_rank`),
// then that it is row-major contiguous. The device is check_devices' job.
DeviceTensor device_tensor(const Array& array, const char* name, std::initializer_list<Element> allowed, int min_rank,
                           int max_rank);

// Rule tensor_shape: `tensor`'s shape equals `expected` ("[N, K/16]" style text in `expected_text`).
void check_shape(const DeviceTensor& tensor, const char* name, const std::vector<std::int64_t>& expected,
                 const std::string& expected_text);

// Rule tensor_device: every tensor lives in CUDA device memory, on the device of the first.
void check_devices(const std::vector<std::pair<const char*, const DeviceTensor*>>& tensors);

// The activation dtype an input tensor carries (float16 or bfloat16).
DType activation_dtype(const DeviceTensor& tensor);

std::string shape_text(const std::vector<std::int64_t>& shape);

}  // namespace marlin_jit::python
