// Conversion of DLPack arrays to device pointers with the binding's checks (tensors.hpp says which, in what order).
#include "tensors.hpp"

#include "marlin_jit/error.hpp"

namespace marlin_jit::python {
namespace {

constexpr std::uint8_t kDLInt = 0, kDLUInt = 1, kDLFloat = 2, kDLBfloat = 4, kDLFloat8E4m3fn = 10;
constexpr std::int32_t kDLCUDA = 2;

bool element_of(const nb::dlpack::dtype& dtype, Element& element) {
  if (dtype.lanes != 1) return false;
  const auto code = dtype.code;
  if (code == kDLUInt && dtype.bits == 8) element = Element::uint8;
  else if (code == kDLFloat8E4m3fn && dtype.bits == 8) element = Element::float8_e4m3fn;
  else if (code == kDLFloat && dtype.bits == 16) element = Element::float16;
  else if (code == kDLBfloat && dtype.bits == 16) element = Element::bfloat16;
  else if (code == kDLFloat && dtype.bits == 32) element = Element::float32;
  else if (code == kDLInt && dtype.bits == 32) element = Element::int32;
  else return false;
  return true;
}

std::string dtype_text(const nb::dlpack::dtype& dtype) {
  return "dlpack(code " + std::to_string(dtype.code) + ", bits " + std::to_string(dtype.bits) + ", lanes " +
         std::to_string(dtype.lanes) + ")";
}

std::string allowed_text(std::initializer_list<Element> allowed) {
  std::string text;
  for (Element element : allowed) text += (text.empty() ? "" : " or ") + to_string(element);
  return text;
}

[[noreturn]] void refuse(const std::string& rule, const std::string& value, const std::string& allowed,
                         const std::string& subject) {
  throw ConfigError(rule, value, allowed, value + " not allowed for " + subject + ": allowed " + allowed + " (rule " +
                                              rule + ")");
}

// Row-major and dense; dimensions of extent 1 may carry any stride (frameworks differ there).
bool row_major(const Array& array) {
  std::int64_t expected = 1;
  for (std::size_t i = array.ndim(); i-- > 0;) {
    if (array.shape(i) != 1 && array.stride(i) != expected) return false;
    expected *= static_cast<std::int64_t>(array.shape(i));
  }
  return true;
}

}  // namespace

std::string to_string(Element element) {
  switch (element) {
    case Element::uint8: return "uint8";
    case Element::float8_e4m3fn: return "float8_e4m3fn";
    case Element::float16: return "float16";
    case Element::bfloat16: return "bfloat16";
    case Element::float32: return "float32";
    case Element::int32: return "int32";
  }
  return "?";
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::int64_t DeviceTensor::rows() const {
  std::int64_t rows = 1;
  for (std::size_t i = 0; i + 1 < shape.size(); ++i) rows *= shape[i];
  return rows;
}

DeviceTensor device_tensor(const Array& array, const char* name, std::initializer_list<Element> allowed, int min_rank,
                           int max_rank) {
  DeviceTensor tensor;
  bool known = element_of(array.dtype(), tensor.element);
  bool listed = false;
  for (Element element : allowed) listed = listed || (known && element == tensor.element);
  if (!listed) {
    refuse("tensor_dtype", known ? to_string(tensor.element) : dtype_text(array.dtype()), allowed_text(allowed),
           std::string("the dtype of ") + name);
  }
  for (std::size_t i = 0; i < array.ndim(); ++i) tensor.shape.push_back(static_cast<std::int64_t>(array.shape(i)));
  const int rank = static_cast<int>(array.ndim());
  if (rank < min_rank || rank > max_rank) {
    refuse("tensor_shape", shape_text(tensor.shape),
           min_rank == max_rank ? std::to_string(min_rank) + " dimensions"
                                : std::to_string(min_rank) + " to " + std::to_string(max_rank) + " dimensions",
           std::string("the shape of ") + name);
  }
  if (!row_major(array)) {
    refuse("tensor_layout", "a strided view", "a row-major contiguous tensor (call .contiguous())",
           std::string("the layout of ") + name);
  }
  tensor.device_type = array.device_type();
  tensor.data = reinterpret_cast<CUdeviceptr>(array.data());
  tensor.device = array.device_id();
  return tensor;
}

void check_shape(const DeviceTensor& tensor, const char* name, const std::vector<std::int64_t>& expected,
                 const std::string& expected_text) {
  if (tensor.shape != expected) {
    refuse("tensor_shape", shape_text(tensor.shape), shape_text(expected) + " (" + expected_text + ")",
           std::string("the shape of ") + name);
  }
}

void check_devices(const std::vector<std::pair<const char*, const DeviceTensor*>>& tensors) {
  for (const auto& [name, tensor] : tensors) {
    if (tensor->device_type != kDLCUDA) {
      refuse("tensor_device", "DLPack device type " + std::to_string(tensor->device_type) +
                                  (tensor->device_type == 1 ? " (CPU)" : ""),
             "CUDA device memory (DLPack device type 2)", name);
    }
    if (tensor->device != tensors.front().second->device) {
      refuse("tensor_device", "cuda:" + std::to_string(tensor->device),
             "cuda:" + std::to_string(tensors.front().second->device) + " (the device of " + tensors.front().first +
                 ")",
             name);
    }
  }
}

DType activation_dtype(const DeviceTensor& tensor) {
  return tensor.element == Element::bfloat16 ? DType::bf16 : DType::fp16;
}

}  // namespace marlin_jit::python
