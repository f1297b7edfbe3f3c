// Writes and checks the entry grammar of entry_format.hpp. decode_entry() accepts a byte string only if every
// field and the checksum agree with it exactly; anything else is reported in why_not and yields nullopt.
#include "marlin_jit/cache/entry_format.hpp"

#include <cstring>

#include <xxhash.h>

namespace marlin_jit::cache {
namespace {

constexpr char kMagic[4] = {'M', 'J', 'K', 'C'};

void put_u64(std::vector<char>& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

void put_u32(std::vector<char>& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

std::uint64_t get_le(std::span<const char> bytes, std::size_t offset, std::size_t width) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    value |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  }
  return value;
}

std::optional<CacheEntry> reject(std::string* why_not, std::string reason) {
  if (why_not) *why_not = std::move(reason);
  return std::nullopt;
}

}  // namespace

std::vector<char> encode_entry(const CacheEntry& entry) {
  std::vector<char> out;
  out.reserve(kEntryHeaderBytes + entry.lowered_name.size() + entry.metadata_json.size() + entry.payload.size() +
              kEntryChecksumBytes);
  // push_back, not insert: GCC 12 at -O2 misreports a 4-byte range insert as an overflow (stringop-overflow).
  for (int i = 0; i < 4; ++i) out.push_back(kMagic[i]);
  put_u32(out, kEntryFormatVersion);
  put_u64(out, entry.key.high);
  put_u64(out, entry.key.low);
  put_u64(out, entry.lowered_name.size());
  put_u64(out, entry.metadata_json.size());
  put_u64(out, entry.payload.size());
  out.insert(out.end(), entry.lowered_name.begin(), entry.lowered_name.end());
  out.insert(out.end(), entry.metadata_json.begin(), entry.metadata_json.end());
  out.insert(out.end(), entry.payload.begin(), entry.payload.end());
  put_u64(out, XXH3_64bits(out.data(), out.size()));
  return out;
}

std::optional<EntryHeader> peek_entry_header(std::span<const char> prefix, std::string* why_not) {
  auto fail = [why_not](std::string reason) -> std::optional<EntryHeader> {
    if (why_not) *why_not = std::move(reason);
    return std::nullopt;
  };
  if (prefix.empty()) return fail("empty file");
  if (prefix.size() < kEntryHeaderBytes) {
    return fail("truncated: " + std::to_string(prefix.size()) + " bytes, the header alone needs " +
                std::to_string(kEntryHeaderBytes));
  }
  if (std::memcmp(prefix.data(), kMagic, 4) != 0) return fail("not a marlin-jit entry (bad magic)");
  EntryHeader header;
  header.format_version = static_cast<std::uint32_t>(get_le(prefix, 4, 4));
  if (header.format_version != kEntryFormatVersion) {
    return fail("entry format version " + std::to_string(header.format_version) + ", this build reads " +
                std::to_string(kEntryFormatVersion));
  }
  header.key = Digest{get_le(prefix, 8, 8), get_le(prefix, 16, 8)};
  header.lowered_len = get_le(prefix, 24, 8);
  header.metadata_len = get_le(prefix, 32, 8);
  header.payload_len = get_le(prefix, 40, 8);
  return header;
}

std::optional<CacheEntry> decode_entry(std::span<const char> bytes, const Digest& expected_key, std::string* why_not) {
  auto header = peek_entry_header(bytes, why_not);
  if (!header) return std::nullopt;
  if (bytes.size() < kEntryHeaderBytes + kEntryChecksumBytes) {
    return reject(why_not, "truncated: " + std::to_string(bytes.size()) + " bytes, no room for the checksum");
  }
  const std::size_t body_end = bytes.size() - kEntryChecksumBytes;
  const std::uint64_t stored = get_le(bytes, body_end, 8);
  if (XXH3_64bits(bytes.data(), body_end) != stored) return reject(why_not, "checksum mismatch");

  // The checksum can be intact over a file that was cut or extended at a field boundary only if the lengths
  // disagree with the size, so check them too, without overflowing on huge values.
  std::uint64_t room = body_end - kEntryHeaderBytes;
  for (std::uint64_t length : {header->lowered_len, header->metadata_len, header->payload_len}) {
    if (length > room) return reject(why_not, "length fields exceed the file size");
    room -= length;
  }
  if (room != 0) return reject(why_not, std::to_string(room) + " bytes after the payload");
  if (header->key != expected_key) return reject(why_not, "holds key " + header->key.hex());

  CacheEntry entry;
  entry.key = header->key;
  std::size_t offset = kEntryHeaderBytes;
  const auto take = [&](std::uint64_t length) {
    auto part = bytes.subspan(offset, static_cast<std::size_t>(length));
    offset += static_cast<std::size_t>(length);
    return part;
  };
  auto lowered = take(header->lowered_len);
  auto metadata = take(header->metadata_len);
  auto payload = take(header->payload_len);
  entry.lowered_name.assign(lowered.begin(), lowered.end());
  entry.metadata_json.assign(metadata.begin(), metadata.end());
  entry.payload.assign(payload.begin(), payload.end());
  return entry;
}

}  // namespace marlin_jit::cache
