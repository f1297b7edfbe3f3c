// mj_version*, mj_last_error_* and mj_status_name: queries that never fail and never touch the last error.
#include <string>

#include "c_api/boundary.hpp"
#include "marlin_jit/version.hpp"

using marlin_jit::c_api::last_error;

extern "C" {

const char* mj_version(void) {
  static const std::string version = marlin_jit::library_version();
  return version.c_str();
}

int mj_version_major(void) { return MARLIN_JIT_VERSION_MAJOR; }

int mj_version_minor(void) { return MARLIN_JIT_VERSION_MINOR; }

const char* mj_nvrtc_version(void) {
  static const std::string version = marlin_jit::nvrtc_version();
  return version.c_str();
}

const char* mj_last_error_message(void) { return last_error().message.c_str(); }

const char* mj_last_error_rule(void) { return last_error().rule.c_str(); }

const char* mj_last_error_value(void) { return last_error().value.c_str(); }

const char* mj_last_compile_log(void) { return last_error().compile_log.c_str(); }

const char* mj_status_name(mj_status status) {
  switch (status) {
    case MJ_OK: return "MJ_OK";
    case MJ_ERROR_CONFIG: return "MJ_ERROR_CONFIG";
    case MJ_ERROR_COMPILE: return "MJ_ERROR_COMPILE";
    case MJ_ERROR_DRIVER: return "MJ_ERROR_DRIVER";
    case MJ_ERROR_CACHE: return "MJ_ERROR_CACHE";
    case MJ_ERROR_INTERNAL: return "MJ_ERROR_INTERNAL";
  }
  return "unknown";
}

}  // extern "C"
