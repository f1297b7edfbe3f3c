// The cache key: XXH3-128 over everything that can change the compiled bytes (the template headers reachable
// from the entry point, NVRTC version, options, target SM, template arguments) and nothing else.
// Every field is tagged and length-prefixed before it is hashed, so adjacent fields can never run together.
#pragma once

#include <concepts>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "marlin_jit/cache/digest.hpp"
#include "marlin_jit/export.h"

MARLIN_JIT_API_BEGIN
namespace marlin_jit::cache {

// Bump when the serialization below, or the meaning of any field the runtime adds, changes: every old key misses.
inline constexpr std::int64_t kKeyFormatVersion = 1;

// Builds a key from (tag, value) fields in the order they are added. The canonical byte stream is, per field:
//   kind (1 byte: 's' string, 'i' int64) | tag length (u64 LE) | tag | value length (u64 LE) | value
// with an int64 value written as 8 bytes little-endian. So add("a", "bc") and add("ab", "c") differ, and so do
// add("n", 1) and add("n", "1"). Field order matters: callers add fields in a fixed order.
// Not thread-safe for concurrent add(); copies are independent.
class KeyBuilder {
 public:
  KeyBuilder();  // first field: key_format = kKeyFormatVersion
  KeyBuilder(const KeyBuilder& other);
  KeyBuilder& operator=(const KeyBuilder& other);
  KeyBuilder(KeyBuilder&&) noexcept;
  KeyBuilder& operator=(KeyBuilder&&) noexcept;
  ~KeyBuilder();

  KeyBuilder& add(std::string_view tag, std::string_view value);
  KeyBuilder& add(std::string_view tag, std::int64_t value);
  // Any other integer (int, std::size_t, bool, ...) is keyed as the int64 of the same value, so add("n", 0) and
  // add("n", vec.size()) neither pick the string overload nor are ambiguous.
  template <std::integral T>
    requires(!std::same_as<T, std::int64_t>)
  KeyBuilder& add(std::string_view tag, T value) {
    return add(tag, static_cast<std::int64_t>(value));
  }

  // The key of the fields added so far; the builder can keep growing afterwards.
  Digest finish() const;

  // One line per field, "tag = value": strings quoted, ints in decimal, and a long or unprintable string shown
  // as its own XXH3-64 digest and length (`<xxh3-64 0123456789abcdef, 5120 bytes>`). For debug logs and --explain.
  std::string description() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace marlin_jit::cache
MARLIN_JIT_API_END
