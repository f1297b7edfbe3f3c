// A 128-bit content digest (XXH3-128): the identity of a cache entry and the name of its file.
// hex() is always 32 lowercase hex digits, high half first; from_hex() accepts only that shape (either case).
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "marlin_jit/export.h"

MARLIN_JIT_API_BEGIN
namespace marlin_jit::cache {

struct Digest {
  std::uint64_t high = 0;
  std::uint64_t low = 0;

  std::string hex() const;
  // nullopt unless the text is exactly 32 hex digits.
  static std::optional<Digest> from_hex(std::string_view text);

  auto operator<=>(const Digest&) const = default;
};

struct DigestHash {
  std::size_t operator()(const Digest& digest) const noexcept;
};

}  // namespace marlin_jit::cache
MARLIN_JIT_API_END
