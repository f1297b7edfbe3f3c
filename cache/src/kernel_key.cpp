// Tagged, length-prefixed key fields streamed into XXH3-128 as they are added; finish() digests a copy of the
// state, so the builder never holds the (possibly large) header contents. description() is built alongside.
#include "marlin_jit/cache/kernel_key.hpp"

#include <array>

#include <xxhash.h>

namespace marlin_jit::cache {
namespace {

constexpr std::size_t kLongestShownValue = 64;

std::array<unsigned char, 8> little_endian(std::uint64_t value) {
  std::array<unsigned char, 8> bytes{};
  for (std::size_t i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(value >> (8 * i));
  return bytes;
}

bool printable(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F || c == '"') return false;
  }
  return true;
}

std::string hex64(std::uint64_t value) {
  constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (std::size_t i = 0; i < 16; ++i) out[15 - i] = kDigits[(value >> (4 * i)) & 0xF];
  return out;
}

}  // namespace

struct KeyBuilder::State {
  XXH3_state_t hash;
  std::string description;

  State() { XXH3_128bits_reset(&hash); }
  State(const State& other) : description(other.description) { XXH3_copyState(&hash, &other.hash); }

  void update(const void* data, std::size_t size) { XXH3_128bits_update(&hash, data, size); }
  void update_length(std::uint64_t length) {
    auto bytes = little_endian(length);
    update(bytes.data(), bytes.size());
  }
  void field(char kind, std::string_view tag, std::string_view value) {
    update(&kind, 1);
    update_length(tag.size());
    update(tag.data(), tag.size());
    update_length(value.size());
    update(value.data(), value.size());
  }
};

KeyBuilder::KeyBuilder() : state_(std::make_unique<State>()) { add("key_format", kKeyFormatVersion); }
KeyBuilder::KeyBuilder(const KeyBuilder& other) : state_(std::make_unique<State>(*other.state_)) {}
KeyBuilder& KeyBuilder::operator=(const KeyBuilder& other) {
  if (this != &other) state_ = std::make_unique<State>(*other.state_);
  return *this;
}
KeyBuilder::KeyBuilder(KeyBuilder&&) noexcept = default;
KeyBuilder& KeyBuilder::operator=(KeyBuilder&&) noexcept = default;
KeyBuilder::~KeyBuilder() = default;

KeyBuilder& KeyBuilder::add(std::string_view tag, std::string_view value) {
  state_->field('s', tag, value);
  auto& text = state_->description;
  text.append(tag).append(" = ");
  if (value.size() <= kLongestShownValue && printable(value)) {
    text.append("\"").append(value).append("\"\n");
  } else {
    text.append("<xxh3-64 ")
        .append(hex64(XXH3_64bits(value.data(), value.size())))
        .append(", ")
        .append(std::to_string(value.size()))
        .append(" bytes>\n");
  }
  return *this;
}

KeyBuilder& KeyBuilder::add(std::string_view tag, std::int64_t value) {
  auto bytes = little_endian(static_cast<std::uint64_t>(value));
  state_->field('i', tag, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  state_->description.append(tag).append(" = ").append(std::to_string(value)).append("\n");
  return *this;
}

Digest KeyBuilder::finish() const {
  // The digest functions take a const state, so the builder can keep growing afterwards.
  XXH128_hash_t hash = XXH3_128bits_digest(&state_->hash);
  return Digest{hash.high64, hash.low64};
}

std::string KeyBuilder::description() const { return state_->description; }

}  // namespace marlin_jit::cache
