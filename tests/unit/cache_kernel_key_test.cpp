// KeyBuilder: the key changes with every field and only with them, fields cannot run together, and the
// canonical stream is exactly the documented one (pinned by an independent serialization here).
#include "marlin_jit/cache/kernel_key.hpp"

#include <gtest/gtest.h>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#include <sstream>
#include <type_traits>
#include <variant>
#include <vector>

using marlin_jit::cache::Digest;
using marlin_jit::cache::KeyBuilder;

namespace {

KeyBuilder typical() {
  KeyBuilder key;
  key.add("nvrtc_version", "13.0").add("arch", "sm_90a").add("options", "-std=c++17 -default-device");
  key.add("tile_n", 128).add("group_size", 16).add("entry", "marlin_jit::kernels::gemm<128, 16>");
  return key;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void put_field(std::string& out, char kind, std::string_view tag, std::string_view value) {
  auto put_u64 = [&out](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  out.push_back(kind);
  put_u64(tag.size());
  out.append(tag);
  put_u64(value.size());
  out.append(value);
}

std::string le64(std::int64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xFF));
  return out;
}

}  // namespace

TEST(KeyBuilder, SameFieldsGiveTheSameKey) { EXPECT_EQ(typical().finish(), typical().finish()); }

TEST(KeyBuilder, EachFieldChangesTheKey) {
  struct Field {
    std::string tag;
    std::variant<std::string, std::int64_t> value;
  };
  const std::vector<Field> fields = {{"nvrtc_version", "13.0"}, {"arch", "sm_90a"}, {"options", "-std=c++17"},
                                     {"tile_n", 128},           {"group_size", 16},   {"entry", "gemm<128, 16>"}};
  auto key_of = [](const std::vector<Field>& list) {
    KeyBuilder key;
    for (const auto& field : list) std::visit([&](const auto& value) { key.add(field.tag, value); }, field.value);
    return key.finish();
  };
  std::vector<Digest> keys = {key_of(fields)};
  for (std::size_t i = 0; i < fields.size(); ++i) {
    auto changed_value = fields, changed_tag = fields, dropped = fields;
    std::visit(
        [](auto& value) {
          if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>) value += "'";  // "sm_90a'"
          else value += 1;                                                                          // 129
        },
        changed_value[i].value);
    changed_tag[i].tag += "_";
    dropped.erase(dropped.begin() + static_cast<std::ptrdiff_t>(i));
    keys.push_back(key_of(changed_value));
    keys.push_back(key_of(changed_tag));
    keys.push_back(key_of(dropped));
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    for (std::size_t j = i + 1; j < keys.size(); ++j) EXPECT_NE(keys[i], keys[j]) << i << " vs " << j;
  }
}

TEST(KeyBuilder, TagAndValueBoundariesCannotRunTogether) {
  auto key = [](std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
    KeyBuilder builder;
    for (auto [tag, value] : fields) builder.add(tag, value);
    return builder.finish();
  };
  EXPECT_NE(key({{"t", "ab"}, {"t", "c"}}), key({{"t", "a"}, {"t", "bc"}}));   // values split differently
  EXPECT_NE(key({{"ab", "c"}}), key({{"a", "bc"}}));                          // tag/value split differently
  EXPECT_NE(key({{"t", "abc"}}), key({{"t", "ab"}, {"t", "c"}}));             // one field vs two
  EXPECT_NE(key({{"t", ""}, {"t", "x"}}), key({{"t", "x"}, {"t", ""}}));      // empty fields still count
  EXPECT_NE(key({{"t", ""}}), key({}));
  EXPECT_NE(key({{"-I", "-O2"}}), key({{"-I-O2", ""}}));                      // ccache's example
}

TEST(KeyBuilder, IntAndStringFieldsNeverCollide) {
  KeyBuilder as_int, as_string, as_bytes;
  as_int.add("n", 49);
  as_string.add("n", "49");
  as_bytes.add("n", std::string_view("1\0\0\0\0\0\0\0", 8));  // 49 as 8 little-endian bytes
  EXPECT_NE(as_int.finish(), as_string.finish());
  EXPECT_NE(as_int.finish(), as_bytes.finish());
}

TEST(KeyBuilder, EveryIntegerTypeIsKeyedByItsValue) {
  auto key_of = [](auto value) {
    KeyBuilder key;
    key.add("n", value);
    return key.finish();
  };
  const Digest expected = key_of(std::int64_t{5});
  EXPECT_EQ(key_of(5), expected);
  EXPECT_EQ(key_of(std::size_t{5}), expected);
  EXPECT_EQ(key_of(std::uint32_t{5}), expected);
  EXPECT_EQ(key_of(short{5}), expected);
  EXPECT_EQ(key_of(0), key_of(std::int64_t{0}));  // a literal 0 is an integer here, never a null string
  EXPECT_EQ(key_of(true), key_of(std::int64_t{1}));
  KeyBuilder strings;
  strings.add("s", std::string("text")).add("s", "text").add("s", std::string_view("text"));
  EXPECT_NE(strings.finish(), KeyBuilder().finish());
}

TEST(KeyBuilder, FieldOrderMatters) {
  KeyBuilder ab, ba;
  ab.add("a", 1).add("b", 2);
  ba.add("b", 2).add("a", 1);
  EXPECT_NE(ab.finish(), ba.finish());
}

TEST(KeyBuilder, IsXxh3Of128BitsOverTheDocumentedCanonicalStream) {
  std::string stream;
  put_field(stream, 'i', "key_format", le64(marlin_jit::cache::kKeyFormatVersion));
  put_field(stream, 's', "arch", "sm_90a");
  put_field(stream, 'i', "tile_n", le64(-128));
  const XXH128_hash_t expected = XXH3_128bits(stream.data(), stream.size());

  KeyBuilder key;
  key.add("arch", "sm_90a").add("tile_n", std::int64_t{-128});
  EXPECT_EQ(key.finish(), (Digest{expected.high64, expected.low64}));
}

// Pinned: if this changes, every cache in the field misses. Change it only together with kKeyFormatVersion.
TEST(KeyBuilder, GoldenKeyIsStableAcrossBuilds) {
  KeyBuilder key;
  key.add("arch", "sm_90a").add("tile_n", 128).add("header_content", std::string(100, 'h'));
  ASSERT_EQ(marlin_jit::cache::kKeyFormatVersion, 1);
  EXPECT_EQ(key.finish().hex(), "7ccb2dcb82cdf837e7cd663b16941ac7");
}

TEST(KeyBuilder, FinishLeavesTheBuilderUsableAndCopiesAreIndependent) {
  KeyBuilder key = typical();
  const Digest first = key.finish();
  EXPECT_EQ(key.finish(), first);
  KeyBuilder copy = key;
  copy.add("extra", 1);
  EXPECT_EQ(key.finish(), first);
  EXPECT_NE(copy.finish(), first);
  key.add("extra", 1);
  EXPECT_EQ(key.finish(), copy.finish());
}

TEST(KeyBuilder, DescriptionListsEveryFieldOnItsOwnLineStartingWithTheFormatVersion) {
  const auto lines = lines_of(typical().description());
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[0], "key_format = " + std::to_string(marlin_jit::cache::kKeyFormatVersion));
  EXPECT_EQ(lines[1], "nvrtc_version = \"13.0\"");
  EXPECT_EQ(lines[2], "arch = \"sm_90a\"");
  EXPECT_EQ(lines[4], "tile_n = 128");
  EXPECT_EQ(lines[6], "entry = \"marlin_jit::kernels::gemm<128, 16>\"");
}

TEST(KeyBuilder, DescriptionShowsLongOrBinaryValuesAsTheirDigestAndLength) {
  const std::string header(5000, 'x');
  const std::string binary("a\nb", 3);
  KeyBuilder key;
  key.add("header_content", header).add("odd", binary);
  const auto lines = lines_of(key.description());
  ASSERT_EQ(lines.size(), 3u);  // the newline inside "odd" must not split its line
  char expected[64];
  std::snprintf(expected, sizeof expected, "header_content = <xxh3-64 %016llx, 5000 bytes>",
                static_cast<unsigned long long>(XXH3_64bits(header.data(), header.size())));
  EXPECT_EQ(lines[1], expected);
  EXPECT_NE(lines[2].find("odd = <xxh3-64 "), std::string::npos);
  EXPECT_NE(lines[2].find(", 3 bytes>"), std::string::npos);
}
