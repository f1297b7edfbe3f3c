// Tests for runtime/src/checkpoint/safetensors_header.cpp: a file written as safetensors writes it parses back to
// exactly its tensors; every malformed file (short, length past the end or over the cap, bad JSON, unknown dtype,
// offsets past the data, overlapping, with holes, or not matching dtype × shape) is refused with ConfigError
// naming the file, the tensor and the rule.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "checkpoint/safetensors_header.hpp"
#include "marlin_jit/error.hpp"
#include "modelopt_checkpoint_writer.hpp"
#include "test_seed.hpp"

namespace marlin_jit::checkpoint {
namespace {

using test::SafetensorsEntry;

std::vector<std::uint8_t> random_bytes(std::size_t count, std::uint64_t seed) {
  test::TestRng rng(seed);
  std::vector<std::uint8_t> bytes(count);
  for (auto& byte : bytes) byte = static_cast<std::uint8_t>(rng.next());
  return bytes;
}

std::vector<SafetensorsEntry> sample_entries(std::uint64_t seed) {
  return {{"a.weight", "U8", {4, 8}, random_bytes(32, seed)},
          {"a.weight_scale", "F8_E4M3", {4, 1}, random_bytes(4, seed + 1)},
          {"a.weight_scale_2", "F32", {}, test::f32_bytes(0.25f)},
          {"norm.weight", "BF16", {3}, random_bytes(6, seed + 2)}};
}

SafetensorsHeader parse(const std::vector<std::uint8_t>& file) {
  return parse_safetensors_header(file, "x.safetensors");
}

std::uint64_t case_seed() {
  return test::seed_for(::testing::UnitTest::GetInstance()->current_test_info()->name());
}

// The refusal of `file`: its rule, and its message must name the file and every string of `names`.
std::string refusal_rule(const std::vector<std::uint8_t>& file, const std::vector<std::string>& names = {}) {
  try {
    parse(file);
  } catch (const ConfigError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("x.safetensors"), std::string::npos) << message;
    for (const std::string& name : names) EXPECT_NE(message.find(name), std::string::npos) << message;
    return error.rule();
  }
  return "accepted";
}

std::vector<std::uint8_t> with_header(const nlohmann::ordered_json& header, const std::vector<std::uint8_t>& data) {
  return test::safetensors_file_from(header.dump(), data);
}

TEST(SafetensorsHeader, ParsesWhatWasWritten) {
  const auto entries = sample_entries(case_seed());
  const auto file = test::safetensors_file(entries);
  const SafetensorsHeader header = parse(file);
  EXPECT_EQ(header.metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
  ASSERT_EQ(header.tensors.size(), entries.size());
  EXPECT_EQ(header.data_start % 8, 0u);  // the writer pads the header to 8 bytes, as safetensors does
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const SafetensorsTensor& tensor = header.tensors[i];
    EXPECT_EQ(tensor.name, entries[i].name);
    EXPECT_EQ(tensor.dtype.name, entries[i].dtype);
    EXPECT_EQ(tensor.shape, entries[i].shape);
    const std::vector<std::uint8_t> bytes(file.begin() + static_cast<std::ptrdiff_t>(header.data_start + tensor.begin),
                                          file.begin() + static_cast<std::ptrdiff_t>(header.data_start + tensor.end));
    EXPECT_EQ(bytes, entries[i].bytes) << tensor.name;
  }
}

TEST(SafetensorsHeader, EmptyFileOfNoTensorsIsValid) {
  const auto header = parse(test::safetensors_file({}, {}));
  EXPECT_TRUE(header.tensors.empty());
  EXPECT_EQ(header.data_size, 0u);
}

TEST(SafetensorsHeader, RefusesShortAndTruncatedFiles) {
  const auto file = test::safetensors_file(sample_entries(case_seed()));
  for (std::size_t size : {std::size_t{0}, std::size_t{7}}) {
    EXPECT_EQ(refusal_rule({file.begin(), file.begin() + static_cast<std::ptrdiff_t>(size)}, {"8-byte"}),
              "safetensors_header");
  }
  // Cut inside the header: the length runs past the end.
  EXPECT_EQ(refusal_rule({file.begin(), file.begin() + 20}, {"past the end"}), "safetensors_header");
  // Cut inside the data: the last tensor's offsets run past the data section.
  EXPECT_EQ(refusal_rule({file.begin(), file.end() - 3}, {"norm.weight", "outside the data section"}),
            "safetensors_offsets");
}

TEST(SafetensorsHeader, RefusesHeaderLengthPastEndOrAbsurd) {
  auto file = test::safetensors_file(sample_entries(case_seed()));
  for (std::uint64_t length : {std::uint64_t{file.size()}, std::uint64_t{kMaxSafetensorsHeaderBytes + 1},
                               ~std::uint64_t{0}}) {
    for (int i = 0; i < 8; ++i) file[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(length >> (8 * i));
    EXPECT_EQ(refusal_rule(file, {std::to_string(length)}), "safetensors_header") << length;
  }
}

TEST(SafetensorsHeader, RefusesBadJson) {
  for (const std::string text : {"{\"a\": ", "not json", "[1, 2]", "\"text\"", "{\"a\": {\"dtype\": \"U8\"}}"}) {
    EXPECT_EQ(refusal_rule(test::safetensors_file_from(text, {})), "safetensors_header") << text;
  }
}

TEST(SafetensorsHeader, RefusesMalformedEntries) {
  const std::vector<std::uint8_t> data(4);
  const auto entry = [](nlohmann::ordered_json dtype, nlohmann::ordered_json shape, nlohmann::ordered_json offsets) {
    return nlohmann::ordered_json{{"t", {{"dtype", dtype}, {"shape", shape}, {"data_offsets", offsets}}}};
  };
  EXPECT_EQ(refusal_rule(with_header(entry("U8", {-4}, {0, 4}), data), {"'t'", "shape"}), "safetensors_header");
  EXPECT_EQ(refusal_rule(with_header(entry("U8", {4.5}, {0, 4}), data), {"'t'"}), "safetensors_header");
  EXPECT_EQ(refusal_rule(with_header(entry("U8", "4", {0, 4}), data), {"'t'"}), "safetensors_header");
  EXPECT_EQ(refusal_rule(with_header(entry("U8", {4}, {0}), data), {"'t'", "data_offsets"}), "safetensors_header");
  EXPECT_EQ(refusal_rule(with_header(entry("U8", {4}, {0, -4}), data), {"'t'"}), "safetensors_header");
  EXPECT_EQ(refusal_rule(with_header(entry("U4", {4}, {0, 4}), data), {"'t'", "U4"}), "safetensors_dtype");
  EXPECT_EQ(refusal_rule(with_header(entry(7, {4}, {0, 4}), data), {"'t'"}), "safetensors_dtype");
  nlohmann::ordered_json metadata = entry("U8", {4}, {0, 4});
  metadata["__metadata__"] = {{"format", 1}};
  EXPECT_EQ(refusal_rule(with_header(metadata, data), {"format"}), "safetensors_header");
}

TEST(SafetensorsHeader, RefusesOffsetsPastTheData) {
  const std::vector<std::uint8_t> data(8);
  nlohmann::ordered_json header = {{"t", {{"dtype", "U8"}, {"shape", {16}}, {"data_offsets", {0, 16}}}}};
  EXPECT_EQ(refusal_rule(with_header(header, data), {"'t'", "[0, 16]"}), "safetensors_offsets");
  header = {{"t", {{"dtype", "U8"}, {"shape", {0}}, {"data_offsets", {9, 8}}}}};
  EXPECT_EQ(refusal_rule(with_header(header, data), {"'t'"}), "safetensors_offsets");
}

TEST(SafetensorsHeader, RefusesSizeNotMatchingDtypeTimesShape) {
  const std::vector<std::uint8_t> data(8);
  nlohmann::ordered_json header = {{"t", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {0, 8}}}}};
  EXPECT_EQ(refusal_rule(with_header(header, data), {"'t'", "needs 16"}), "safetensors_offsets");
  // A product of dims that overflows 64 bits must not wrap around to a matching size.
  header = {{"t", {{"dtype", "U8"}, {"shape", {std::uint64_t{1} << 62, 8, 2}}, {"data_offsets", {0, 0}}}}};
  EXPECT_EQ(refusal_rule(with_header(header, {}), {"'t'", "2^64"}), "safetensors_offsets");
}

TEST(SafetensorsHeader, RefusesOverlapsAndHoles) {
  const std::vector<std::uint8_t> data(8);
  nlohmann::ordered_json header = {{"a", {{"dtype", "U8"}, {"shape", {6}}, {"data_offsets", {0, 6}}}},
                                   {"b", {{"dtype", "U8"}, {"shape", {4}}, {"data_offsets", {4, 8}}}}};
  EXPECT_EQ(refusal_rule(with_header(header, data), {"'b'", "overlaps 'a'"}), "safetensors_offsets");
  header = {{"a", {{"dtype", "U8"}, {"shape", {2}}, {"data_offsets", {0, 2}}}},
            {"b", {{"dtype", "U8"}, {"shape", {4}}, {"data_offsets", {4, 8}}}}};
  EXPECT_EQ(refusal_rule(with_header(header, data), {"'b'", "belong to no tensor"}), "safetensors_offsets");
  header = {{"a", {{"dtype", "U8"}, {"shape", {4}}, {"data_offsets", {0, 4}}}}};
  EXPECT_EQ(refusal_rule(with_header(header, data), {"4 bytes"}), "safetensors_offsets");
}

}  // namespace
}  // namespace marlin_jit::checkpoint
