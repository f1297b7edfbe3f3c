// Exceptions to status codes at the C boundary, and the thread-local last error they leave behind.
#include "c_api/boundary.hpp"

#include <new>

#include "marlin_jit/error.hpp"

namespace marlin_jit::c_api {

LastError& last_error() noexcept {
  thread_local LastError error;
  return error;
}

namespace {

mj_status record(const std::exception& error, mj_status status) {
  last_error().message = error.what();
  return status;
}

mj_status classify_current_exception() {
  LastError& last = last_error();
  try {
    throw;
  } catch (const ConfigError& error) {
    last.rule = error.rule();
    last.value = error.value();
    return record(error, MJ_ERROR_CONFIG);
  } catch (const CompileError& error) {
    last.compile_log = error.log();
    return record(error, MJ_ERROR_COMPILE);
  } catch (const Error& error) {
    return record(error, static_cast<mj_status>(error.code()));
  } catch (const std::bad_alloc&) {
    last.message = "out of host memory";
    return MJ_ERROR_INTERNAL;
  } catch (const std::exception& error) {
    return record(error, MJ_ERROR_INTERNAL);
  } catch (...) {
    last.message = "unknown exception";
    return MJ_ERROR_INTERNAL;
  }
}

}  // namespace

mj_status record_current_exception() noexcept {
  try {
    return classify_current_exception();
  } catch (...) {  // copying the message itself failed (out of memory): the status still tells the caller
    return MJ_ERROR_INTERNAL;
  }
}

void refuse_argument(const char* parameter, const std::string& why) {
  throw ConfigError("c_api_argument", parameter, "see marlin_jit/c_api.h",
                    std::string(parameter) + " " + why);
}

void require_struct_size(std::size_t given, std::size_t expected, const char* parameter) {
  if (given != expected) {
    refuse_argument(parameter, "has struct_size " + std::to_string(given) + ", this library expects " +
                                   std::to_string(expected) + " (fill it with its mj_*_init function first)");
  }
}

}  // namespace marlin_jit::c_api
