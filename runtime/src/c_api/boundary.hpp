// The C ABI's boundary: every entry runs its body through guarded(), which clears the calling thread's last error,
// catches every exception and turns it into an mj_status plus the thread-local message, rule and compile log.
#pragma once

#include <cstddef>
#include <string>

#include "marlin_jit/c_api.h"

namespace marlin_jit::c_api {

struct LastError {
  std::string message, rule, value, compile_log;
};

// The calling thread's last error (empty strings after a call that succeeded).
LastError& last_error() noexcept;

// Inside a catch block: records the exception being handled as the last error and returns its status. Never throws.
mj_status record_current_exception() noexcept;

template <class Body>
mj_status guarded(Body&& body) noexcept {
  try {
    last_error() = LastError{};
    body();
    return MJ_OK;
  } catch (...) {
    return record_current_exception();
  }
}

// Refusals at the boundary: ConfigError with rule "c_api_argument", the parameter as the value.
[[noreturn]] void refuse_argument(const char* parameter, const std::string& why);

template <class T>
T& require(T* pointer, const char* parameter) {
  if (pointer == nullptr) refuse_argument(parameter, "must not be NULL");
  return *pointer;
}

// A struct passed in must come from this header's mj_*_init (struct_size = its size in this library).
void require_struct_size(std::size_t given, std::size_t expected, const char* parameter);

}  // namespace marlin_jit::c_api
