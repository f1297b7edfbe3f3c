// Hex text of a 128-bit digest, and back. The hex form names entry files, so it is canonical: 32 lowercase digits.
#include "marlin_jit/cache/digest.hpp"

namespace marlin_jit::cache {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void append_hex(std::string& out, std::uint64_t value) {
  for (int shift = 60; shift >= 0; shift -= 4) out.push_back(kHexDigits[(value >> shift) & 0xF]);
}

std::optional<std::uint64_t> parse_hex64(std::string_view text) {
  std::uint64_t value = 0;
  for (char c : text) {
    std::uint64_t digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<std::uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<std::uint64_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<std::uint64_t>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    value = (value << 4) | digit;
  }
  return value;
}

}  // namespace

std::string Digest::hex() const {
  std::string out;
  out.reserve(32);
  append_hex(out, high);
  append_hex(out, low);
  return out;
}

std::optional<Digest> Digest::from_hex(std::string_view text) {
  if (text.size() != 32) return std::nullopt;
  auto high = parse_hex64(text.substr(0, 16));
  auto low = parse_hex64(text.substr(16));
  if (!high || !low) return std::nullopt;
  return Digest{*high, *low};
}

std::size_t DigestHash::operator()(const Digest& digest) const noexcept {
  // Both halves are already uniformly distributed hash output.
  return static_cast<std::size_t>(digest.high ^ (digest.low * 0x9E3779B97F4A7C15ull));
}

}  // namespace marlin_jit::cache
