/* Checks for the C test of the C ABI: count every check, print each failure with its file and line, never abort
 * (later checks still run). EXPECT_REFUSED asserts MJ_ERROR_CONFIG with the given rule (and value, unless NULL). */
#ifndef MARLIN_JIT_C_API_TEST_SUPPORT_H
#define MARLIN_JIT_C_API_TEST_SUPPORT_H

#include <stdio.h>

#include "marlin_jit/c_api.h"

extern int test_checks;
extern int test_failures;

void test_failed(const char* file, int line, const char* format, ...);
void expect_status(const char* file, int line, const char* call, mj_status got, mj_status expected);
void expect_refused(const char* file, int line, const char* call, mj_status got, const char* rule, const char* value);

#define CHECK(condition, ...)                                    \
  do {                                                           \
    ++test_checks;                                               \
    if (!(condition)) test_failed(__FILE__, __LINE__, __VA_ARGS__); \
  } while (0)

#define EXPECT_OK(call) expect_status(__FILE__, __LINE__, #call, (call), MJ_OK)
#define EXPECT_STATUS(call, status) expect_status(__FILE__, __LINE__, #call, (call), (status))
#define EXPECT_REFUSED(call, rule, value) expect_refused(__FILE__, __LINE__, #call, (call), (rule), (value))

#endif
