// Tests for runtime/src/compile/ptxas_stats.cpp: the figures of the requested entry, not of its neighbours or callees.
#include <gtest/gtest.h>

#include "compile/ptxas_stats.hpp"

namespace marlin_jit {
namespace {

constexpr const char* kLog = R"(ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function '_Z5firstv' for 'sm_90'
ptxas info    : Function properties for _Z5firstv
ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 12 registers, used 0 barriers
ptxas info    : Function properties for _Z6calleev
ptxas         .     64 bytes stack frame, 8 bytes spill stores, 8 bytes spill loads
ptxas info    : Compiling entry function '_Z6secondv' for 'sm_90'
ptxas info    : Function properties for _Z6secondv
ptxas         .     24 bytes stack frame, 16 bytes spill stores, 12 bytes spill loads
ptxas info    : Used 255 registers, used 1 barriers, 4096 bytes smem, 384 bytes cmem[0]
ptxas info    : Compile time = 1.802 ms
)";

TEST(PtxasStats, ReadsTheRequestedEntry) {
  KernelStats second = detail::parse_ptxas_stats(kLog, "_Z6secondv");
  EXPECT_EQ(second.registers, 255);
  EXPECT_EQ(second.static_shared_bytes, 4096);
  EXPECT_EQ(second.local_bytes, 24);
  EXPECT_EQ(second.spill_bytes, 28);
}

TEST(PtxasStats, IgnoresCalleesAndNeighbours) {
  KernelStats first = detail::parse_ptxas_stats(kLog, "_Z5firstv");
  EXPECT_EQ(first.registers, 12);
  EXPECT_EQ(first.static_shared_bytes, 0);
  EXPECT_EQ(first.local_bytes, 0);
  EXPECT_EQ(first.spill_bytes, 0);
}

TEST(PtxasStats, UnknownEntryOrFormatGivesZeros) {
  KernelStats none = detail::parse_ptxas_stats(kLog, "_Z5otherv");
  EXPECT_EQ(none.registers, 0);
  EXPECT_EQ(detail::parse_ptxas_stats("", "_Z5firstv").registers, 0);
}

}  // namespace
}  // namespace marlin_jit
