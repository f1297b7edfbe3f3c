// The on-disk entry format: one compiled kernel (cubin plus what the runtime needs to load it) per file.
// The grammar below is the contract; encode_entry() writes exactly it and decode_entry() accepts only it.
// Any damage (short, long, flipped, foreign) decodes to nullopt with a reason, never to a partial entry.
//
//   entry          ::= header lowered_name metadata_json payload checksum
//   header         ::= magic format_version key lowered_len metadata_len payload_len     (48 bytes)
//   magic          ::= "MJKC"                                        4 bytes
//   format_version ::= u32 = kEntryFormatVersion                     4 bytes
//   key            ::= key.high u64, key.low u64                     16 bytes
//   lowered_len    ::= u64   length of lowered_name                  8 bytes
//   metadata_len   ::= u64   length of metadata_json                 8 bytes
//   payload_len    ::= u64   length of payload                       8 bytes
//   lowered_name   ::= lowered_len bytes   the NVRTC lowered (mangled) name of the entry point
//   metadata_json  ::= metadata_len bytes  opaque to the cache (the runtime's launch metadata)
//   payload        ::= payload_len bytes   the cubin
//   checksum       ::= u64   XXH3-64 of every byte before it         8 bytes
//
// All integers are little-endian. The file size is exactly 56 + lowered_len + metadata_len + payload_len.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "marlin_jit/cache/digest.hpp"
#include "marlin_jit/export.h"

MARLIN_JIT_API_BEGIN
namespace marlin_jit::cache {

inline constexpr std::uint32_t kEntryFormatVersion = 1;
inline constexpr std::size_t kEntryHeaderBytes = 48;
inline constexpr std::size_t kEntryChecksumBytes = 8;

struct CacheEntry {
  Digest key;
  std::string lowered_name;
  std::string metadata_json;
  std::vector<char> payload;

  bool operator==(const CacheEntry&) const = default;
};

std::vector<char> encode_entry(const CacheEntry& entry);

// nullopt for any damage: empty, truncated, a flipped byte, wrong magic/version/key, trailing bytes.
// why_not, if given, receives a one-line reason ("checksum mismatch", "holds key <hex>", ...).
std::optional<CacheEntry> decode_entry(std::span<const char> bytes, const Digest& expected_key,
                                       std::string* why_not = nullptr);

// The fixed-size header alone, for listing entries without reading their payload. Checks magic and version
// only: the checksum covers the whole file, so a header that parses can still belong to a damaged entry.
struct EntryHeader {
  std::uint32_t format_version = 0;
  Digest key;
  std::uint64_t lowered_len = 0, metadata_len = 0, payload_len = 0;
};
std::optional<EntryHeader> peek_entry_header(std::span<const char> prefix, std::string* why_not = nullptr);

}  // namespace marlin_jit::cache
MARLIN_JIT_API_END
