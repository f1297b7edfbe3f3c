// Maps the library's exception hierarchy onto marlin_jit's Python exceptions (marlin_jit/_errors.py), with the
// typed fields as attributes: ConfigError.rule/.value/.allowed, CompileError.log/..., DriverError.call/....
#include <string>
#include <utility>
#include <vector>

#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit::python {
namespace {

using Fields = std::vector<std::pair<const char*, nb::object>>;

// Builds marlin_jit._errors.<name>(message), sets the fields and raises it. Called with the GIL held.
void raise_as(const char* name, const char* message, const Fields& fields) {
  nb::object type = nb::module_::import_("marlin_jit._errors").attr(name);
  nb::object error = type(nb::str(message));
  for (const auto& [field, value] : fields) nb::setattr(error, field, value);
  PyErr_SetObject(type.ptr(), error.ptr());
}

void translate(const std::exception_ptr& pointer, void*) {
  try {
    std::rethrow_exception(pointer);
  } catch (const ConfigError& error) {
    raise_as("ConfigError", error.what(),
             {{"rule", nb::str(error.rule().c_str())},
              {"value", nb::str(error.value().c_str())},
              {"allowed", nb::str(error.allowed().c_str())}});
  } catch (const CompileError& error) {
    const CompileErrorInfo& info = error.info();
    raise_as("CompileError", error.what(),
             {{"log", nb::str(info.log.c_str())},
              {"nvrtc_result", nb::int_(info.nvrtc_result)},
              {"options", nb::cast(info.options)},
              {"entry_name", nb::str(info.entry_name.c_str())},
              {"key_hex", nb::str(info.key_hex.c_str())},
              {"headers", nb::cast(info.header_list)}});
  } catch (const DriverError& error) {
    raise_as("DriverError", error.what(),
             {{"call", nb::str(error.call().c_str())},
              {"cu_result", nb::int_(error.cu_result())},
              {"cu_error_name", nb::str(error.cu_error_name().c_str())}});
  } catch (const CacheError& error) {
    raise_as("CacheError", error.what(), {});
  } catch (const InternalError& error) {
    raise_as("InternalError", error.what(), {});
  } catch (const Error& error) {
    raise_as("Error", error.what(), {});
  }
}

}  // namespace

void bind_errors(nb::module_&) { nb::register_exception_translator(translate); }

}  // namespace marlin_jit::python
