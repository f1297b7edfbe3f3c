// The C ABI's last error is per thread: one thread's failure is not seen, nor cleared, by another thread's calls.
#include <gtest/gtest.h>

#include <latch>
#include <string>
#include <thread>

#include "marlin_jit/c_api.h"

namespace {

struct SeenError {
  mj_status status = MJ_OK;
  std::string message, rule, value;
};

SeenError read_last_error(mj_status status) {
  return {status, mj_last_error_message(), mj_last_error_rule(), mj_last_error_value()};
}

mj_status refused_group_size() {
  mj_problem problem;
  mj_problem_init(&problem);
  problem.group_size = 32;
  return mj_check(&problem);
}

mj_status accepted_problem() {
  mj_problem problem;
  mj_problem_init(&problem);
  return mj_check(&problem);
}

TEST(CApiLastError, EachThreadKeepsItsOwnError) {
  std::latch all_called(3);
  SeenError group_thread, argument_thread, success_thread;
  std::thread first([&] {
    mj_status status = refused_group_size();
    all_called.arrive_and_wait();  // the others have failed or succeeded meanwhile
    group_thread = read_last_error(status);
  });
  std::thread second([&] {
    mj_status status = mj_runtime_create(nullptr, nullptr);
    all_called.arrive_and_wait();
    argument_thread = read_last_error(status);
  });
  std::thread third([&] {
    mj_status status = accepted_problem();
    all_called.arrive_and_wait();
    success_thread = read_last_error(status);
  });
  first.join();
  second.join();
  third.join();

  EXPECT_EQ(group_thread.status, MJ_ERROR_CONFIG);
  EXPECT_EQ(group_thread.rule, "quant_group_size");
  EXPECT_EQ(group_thread.value, "32");
  EXPECT_NE(group_thread.message.find("32"), std::string::npos) << group_thread.message;
  EXPECT_EQ(argument_thread.status, MJ_ERROR_CONFIG);
  EXPECT_EQ(argument_thread.rule, "c_api_argument");
  EXPECT_EQ(argument_thread.value, "runtime");
  EXPECT_EQ(success_thread.status, MJ_OK);
  EXPECT_EQ(success_thread.message, "");
  EXPECT_EQ(success_thread.rule, "");
  // This thread made no call that failed: none of the others' errors reached it.
  EXPECT_STREQ(mj_last_error_message(), "");
}

TEST(CApiLastError, ASuccessOnTheSameThreadClearsIt) {
  ASSERT_EQ(refused_group_size(), MJ_ERROR_CONFIG);
  ASSERT_STREQ(mj_last_error_rule(), "quant_group_size");
  ASSERT_EQ(accepted_problem(), MJ_OK);
  EXPECT_STREQ(mj_last_error_message(), "");
  EXPECT_STREQ(mj_last_error_rule(), "");
  EXPECT_STREQ(mj_last_error_value(), "");
}

}  // namespace
