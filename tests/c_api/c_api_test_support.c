/* The C test's check counters and failure reports. */
#include "c_api_test_support.h"

#include <stdarg.h>
#include <string.h>

int test_checks = 0;
int test_failures = 0;

void test_failed(const char* file, int line, const char* format, ...) {
  va_list args;
  ++test_failures;
  fprintf(stderr, "%s:%d: FAILED: ", file, line);
  va_start(args, format);
  vfprintf(stderr, format, args);
  va_end(args);
  fprintf(stderr, "\n");
}

void expect_status(const char* file, int line, const char* call, mj_status got, mj_status expected) {
  ++test_checks;
  if (got != expected) {
    test_failed(file, line, "%s returned %s, expected %s: %s", call, mj_status_name(got), mj_status_name(expected),
                mj_last_error_message());
  }
}

void expect_refused(const char* file, int line, const char* call, mj_status got, const char* rule, const char* value) {
  ++test_checks;
  if (got != MJ_ERROR_CONFIG || strcmp(mj_last_error_rule(), rule) != 0 ||
      (value != NULL && strcmp(mj_last_error_value(), value) != 0)) {
    test_failed(file, line, "%s returned %s rule '%s' value '%s', expected MJ_ERROR_CONFIG rule '%s' value '%s': %s",
                call, mj_status_name(got), mj_last_error_rule(), mj_last_error_value(), rule,
                value != NULL ? value : "(any)", mj_last_error_message());
  }
}
