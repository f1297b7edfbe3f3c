// Digest: the 32-digit hex name of every entry, and its parse.
#include "marlin_jit/cache/digest.hpp"

#include <gtest/gtest.h>

#include <unordered_set>

using marlin_jit::cache::Digest;
using marlin_jit::cache::DigestHash;

TEST(Digest, HexIsThirtyTwoLowercaseDigitsHighHalfFirst) {
  const Digest digest{0x0123456789ABCDEFull, 0xFEDCBA9876543210ull};
  EXPECT_EQ(digest.hex(), "0123456789abcdeffedcba9876543210");
  EXPECT_EQ(Digest{}.hex(), std::string(32, '0'));
}

TEST(Digest, FromHexRoundTripsAndAcceptsUppercase) {
  const Digest digest{0xDEADBEEF00000001ull, 0x8000000000000000ull};
  EXPECT_EQ(Digest::from_hex(digest.hex()), digest);
  EXPECT_EQ(Digest::from_hex("DEADBEEF000000018000000000000000"), digest);
}

TEST(Digest, FromHexRejectsWrongLengthAndNonHexDigits) {
  EXPECT_FALSE(Digest::from_hex(""));
  EXPECT_FALSE(Digest::from_hex(std::string(31, '0')));
  EXPECT_FALSE(Digest::from_hex(std::string(33, '0')));
  EXPECT_FALSE(Digest::from_hex("0123456789abcdef0123456789abcdeg"));
  EXPECT_FALSE(Digest::from_hex("0123456789abcdef 123456789abcdef"));
  EXPECT_FALSE(Digest::from_hex("+123456789abcdef0123456789abcdef"));
}

TEST(Digest, ComparesAndHashesByValue) {
  const Digest a{1, 2}, b{1, 3}, c{2, 0};
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(a, (Digest{1, 2}));
  std::unordered_set<Digest, DigestHash> set{a, b, c, Digest{1, 2}};
  EXPECT_EQ(set.size(), 3u);
  EXPECT_EQ(set.count(Digest{1, 3}), 1u);
}
