// Entry format: a round trip keeps every byte, the encoding is exactly the documented grammar, and every kind of
// damage (every single-byte flip, every truncation, trailing bytes, foreign magic/version/key) is rejected.
#include "marlin_jit/cache/entry_format.hpp"

#include <gtest/gtest.h>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#include <cstring>

using namespace marlin_jit::cache;

namespace {

CacheEntry small_entry() {
  CacheEntry entry;
  entry.key = Digest{0x0011223344556677ull, 0x8899aabbccddeeffull};
  entry.lowered_name = "_Z4gemmILi128EEvPKv";
  entry.metadata_json = R"({"smem":1024})";
  entry.payload = {'\x7f', 'E', 'L', 'F', '\0', '\x01', '\xff', '\0', 'z'};
  return entry;
}

std::uint64_t le_at(const std::vector<char>& bytes, std::size_t offset, std::size_t width) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    value |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  }
  return value;
}

void set_le(std::vector<char>& bytes, std::size_t offset, std::size_t width, std::uint64_t value) {
  for (std::size_t i = 0; i < width; ++i) bytes[offset + i] = static_cast<char>((value >> (8 * i)) & 0xFF);
}

// Recomputes the trailing checksum, so a test can change one field and nothing else.
void reseal(std::vector<char>& bytes) {
  const std::size_t body = bytes.size() - kEntryChecksumBytes;
  set_le(bytes, body, 8, XXH3_64bits(bytes.data(), body));
}

}  // namespace

TEST(EntryFormat, RoundTripKeepsEveryField) {
  const CacheEntry entry = small_entry();
  std::string why;
  const auto decoded = decode_entry(encode_entry(entry), entry.key, &why);
  ASSERT_TRUE(decoded) << why;
  EXPECT_EQ(*decoded, entry);
}

TEST(EntryFormat, RoundTripOfEmptyFieldsAndALargePayload) {
  CacheEntry empty;
  empty.key = Digest{1, 2};
  EXPECT_EQ(decode_entry(encode_entry(empty), empty.key), empty);

  CacheEntry large = small_entry();
  large.payload.resize(3 << 20);
  for (std::size_t i = 0; i < large.payload.size(); ++i) large.payload[i] = static_cast<char>(i * 131);
  EXPECT_EQ(decode_entry(encode_entry(large), large.key), large);
}

TEST(EntryFormat, EncodingIsExactlyTheDocumentedGrammar) {
  const CacheEntry entry = small_entry();
  const auto bytes = encode_entry(entry);
  const std::size_t lowered = entry.lowered_name.size(), metadata = entry.metadata_json.size(),
                    payload = entry.payload.size();
  ASSERT_EQ(bytes.size(), 56 + lowered + metadata + payload);
  EXPECT_EQ(std::memcmp(bytes.data(), "MJKC", 4), 0);
  EXPECT_EQ(le_at(bytes, 4, 4), kEntryFormatVersion);
  EXPECT_EQ(le_at(bytes, 8, 8), entry.key.high);
  EXPECT_EQ(le_at(bytes, 16, 8), entry.key.low);
  EXPECT_EQ(le_at(bytes, 24, 8), lowered);
  EXPECT_EQ(le_at(bytes, 32, 8), metadata);
  EXPECT_EQ(le_at(bytes, 40, 8), payload);
  EXPECT_EQ(std::string(bytes.data() + 48, lowered), entry.lowered_name);
  EXPECT_EQ(std::string(bytes.data() + 48 + lowered, metadata), entry.metadata_json);
  EXPECT_EQ(std::memcmp(bytes.data() + 48 + lowered + metadata, entry.payload.data(), payload), 0);
  EXPECT_EQ(le_at(bytes, bytes.size() - 8, 8), XXH3_64bits(bytes.data(), bytes.size() - 8));
}

// A format-1 entry as this build wrote it, checked in: every later build must still read it (or bump
// kEntryFormatVersion, and then reject it by version). Key 0123456789abcdef fedcba9876543210, name "_Z1kv",
// metadata "{}", payload 7f 'E' 'L' 'F'.
TEST(EntryFormat, GoldenFormatOneEntryStillDecodes) {
  const std::string hex =
      "4d4a4b4301000000efcdab89674523011032547698badcfe050000000000000002000000000000000400000000000000"
      "5f5a316b767b7d7f454c467c11bfc5a935bb22";
  std::vector<char> bytes;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  const Digest key{0x0123456789abcdefull, 0xfedcba9876543210ull};
  std::string why;
  const auto entry = decode_entry(bytes, key, &why);
  if (kEntryFormatVersion != 1) {
    EXPECT_FALSE(entry);
    EXPECT_NE(why.find("version"), std::string::npos) << why;
    return;
  }
  ASSERT_TRUE(entry) << why;
  EXPECT_EQ(entry->lowered_name, "_Z1kv");
  EXPECT_EQ(entry->metadata_json, "{}");
  EXPECT_EQ(entry->payload, (std::vector<char>{'\x7f', 'E', 'L', 'F'}));
  EXPECT_EQ(encode_entry(*entry), bytes);
}

TEST(EntryFormat, EmptyInputIsRejected) {
  std::string why;
  EXPECT_FALSE(decode_entry({}, small_entry().key, &why));
  EXPECT_EQ(why, "empty file");
}

TEST(EntryFormat, EveryTruncationIsRejected) {
  const CacheEntry entry = small_entry();
  const auto bytes = encode_entry(entry);
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    std::string why;
    EXPECT_FALSE(decode_entry(std::span<const char>(bytes.data(), length), entry.key, &why)) << length;
    EXPECT_FALSE(why.empty()) << length;
  }
}

TEST(EntryFormat, EverySingleByteFlipIsRejected) {
  const CacheEntry entry = small_entry();
  const auto good = encode_entry(entry);
  for (std::size_t at = 0; at < good.size(); ++at) {
    for (unsigned mask : {0x01u, 0x80u, 0xFFu, 0x5Au}) {
      auto bad = good;
      bad[at] = static_cast<char>(static_cast<unsigned char>(bad[at]) ^ mask);
      std::string why;
      EXPECT_FALSE(decode_entry(bad, entry.key, &why)) << "byte " << at << " mask " << mask;
    }
  }
}

TEST(EntryFormat, TrailingBytesAreRejected) {
  const CacheEntry entry = small_entry();
  auto bytes = encode_entry(entry);
  bytes.push_back('\0');
  EXPECT_FALSE(decode_entry(bytes, entry.key));
  auto doubled = encode_entry(entry);
  const auto copy = doubled;
  doubled.insert(doubled.end(), copy.begin(), copy.end());
  EXPECT_FALSE(decode_entry(doubled, entry.key));
}

TEST(EntryFormat, WrongMagicIsRejected) {
  const CacheEntry entry = small_entry();
  auto bytes = encode_entry(entry);
  std::memcpy(bytes.data(), "CCH\x01", 4);
  reseal(bytes);
  std::string why;
  EXPECT_FALSE(decode_entry(bytes, entry.key, &why));
  EXPECT_NE(why.find("magic"), std::string::npos) << why;
}

TEST(EntryFormat, OtherFormatVersionIsRejectedEvenWithAValidChecksum) {
  const CacheEntry entry = small_entry();
  auto bytes = encode_entry(entry);
  set_le(bytes, 4, 4, kEntryFormatVersion + 1);
  reseal(bytes);
  std::string why;
  EXPECT_FALSE(decode_entry(bytes, entry.key, &why));
  EXPECT_NE(why.find("version"), std::string::npos) << why;
}

TEST(EntryFormat, EntryOfAnotherKeyIsRejected) {
  CacheEntry other = small_entry();
  other.key.low ^= 1;
  std::string why;
  EXPECT_FALSE(decode_entry(encode_entry(other), small_entry().key, &why));
  EXPECT_EQ(why, "holds key " + other.key.hex());
}

TEST(EntryFormat, LengthsThatDisagreeWithTheSizeAreRejectedEvenWithAValidChecksum) {
  const CacheEntry entry = small_entry();
  for (std::size_t field : {24u, 32u, 40u}) {
    for (std::int64_t change : {-1, 1}) {
      auto bytes = encode_entry(entry);
      set_le(bytes, field, 8, le_at(bytes, field, 8) + static_cast<std::uint64_t>(change));
      reseal(bytes);
      EXPECT_FALSE(decode_entry(bytes, entry.key)) << field << " " << change;
    }
  }
  // Moving one byte from the name to the payload keeps the sum: the entry decodes, but into other fields;
  // the checksum is what catches this on real damage. With a forged checksum it must still be well-formed.
  auto shifted = encode_entry(entry);
  set_le(shifted, 24, 8, entry.lowered_name.size() - 1);
  set_le(shifted, 40, 8, entry.payload.size() + 1);
  reseal(shifted);
  auto decoded = decode_entry(shifted, entry.key);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->lowered_name.size() + decoded->metadata_json.size() + decoded->payload.size(),
            entry.lowered_name.size() + entry.metadata_json.size() + entry.payload.size());
}

TEST(EntryFormat, HugeLengthsAreRejectedWithoutOverflow) {
  const CacheEntry entry = small_entry();
  auto bytes = encode_entry(entry);
  const std::uint64_t body = entry.lowered_name.size() + entry.metadata_json.size() + entry.payload.size();
  set_le(bytes, 24, 8, ~std::uint64_t{0});
  set_le(bytes, 32, 8, 1);
  set_le(bytes, 40, 8, body);  // (2^64 - 1) + 1 + body wraps around to exactly the real body size
  reseal(bytes);
  EXPECT_FALSE(decode_entry(bytes, entry.key));
}

TEST(EntryFormat, PeekReadsTheHeaderWithoutThePayload) {
  const CacheEntry entry = small_entry();
  const auto bytes = encode_entry(entry);
  const auto header = peek_entry_header(std::span<const char>(bytes.data(), kEntryHeaderBytes));
  ASSERT_TRUE(header);
  EXPECT_EQ(header->key, entry.key);
  EXPECT_EQ(header->format_version, kEntryFormatVersion);
  EXPECT_EQ(header->lowered_len, entry.lowered_name.size());
  EXPECT_EQ(header->payload_len, entry.payload.size());
  EXPECT_FALSE(peek_entry_header(std::span<const char>(bytes.data(), kEntryHeaderBytes - 1)));
}
