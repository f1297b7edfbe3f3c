// Names of the public vocabulary types, as the spec grammar spells them. parse_* accept exactly what to_string
// produces (no case folding, no leading zeros) and return nullopt for anything else; nothing here throws.
#include "marlin_jit/types.hpp"

#include <array>
#include <charconv>
#include <utility>

namespace marlin_jit {
namespace {

template <typename Enum, std::size_t N>
std::optional<Enum> find_name(const std::array<std::pair<Enum, const char*>, N>& table, std::string_view text) {
  for (const auto& [value, name] : table) {
    if (text == name) return value;
  }
  return std::nullopt;
}

template <typename Enum, std::size_t N>
std::string name_of(const std::array<std::pair<Enum, const char*>, N>& table, Enum value) {
  for (const auto& [candidate, name] : table) {
    if (candidate == value) return name;
  }
  return "unknown";
}

constexpr std::array<std::pair<DType, const char*>, 2> kDTypes{{{DType::fp16, "fp16"}, {DType::bf16, "bf16"}}};
constexpr std::array<std::pair<QuantType, const char*>, 5> kQuantTypes{{{QuantType::nvfp4, "nvfp4"},
                                                                        {QuantType::mxfp4, "mxfp4"},
                                                                        {QuantType::uint4b8, "uint4b8"},
                                                                        {QuantType::uint4, "uint4"},
                                                                        {QuantType::uint8b128, "uint8b128"}}};
constexpr std::array<std::pair<KernelKind, const char*>, 3> kKinds{
    {{KernelKind::dense, "dense"}, {KernelKind::moe, "moe"}, {KernelKind::prep, "prep"}}};
constexpr std::array<std::pair<Activation, const char*>, 3> kActivations{
    {{Activation::none, "none"}, {Activation::silu_gated, "silu_gated"}, {Activation::relu2, "relu2"}}};

// Reads a canonical non-negative decimal (no sign, no leading zero unless "0") from the front of `text`.
std::optional<int> take_number(std::string_view& text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || (digits > 1 && text[0] == '0')) return std::nullopt;
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + digits, value);
  if (error != std::errc() || end != text.data() + digits) return std::nullopt;
  text.remove_prefix(digits);
  return value;
}

bool take_prefix(std::string_view& text, char prefix) {
  if (text.empty() || text.front() != prefix) return false;
  text.remove_prefix(1);
  return true;
}

}  // namespace

std::string to_string(DType value) { return name_of(kDTypes, value); }
std::string to_string(QuantType value) { return name_of(kQuantTypes, value); }
std::string to_string(KernelKind value) { return name_of(kKinds, value); }
std::string to_string(Activation value) { return name_of(kActivations, value); }

std::string to_string(const TileConfig& tile) {
  return "t" + std::to_string(tile.threads) + "m" + std::to_string(tile.m_blocks) + "n" +
         std::to_string(tile.n_blocks) + "k" + std::to_string(tile.k_blocks) + "s" + std::to_string(tile.stages);
}

std::optional<DType> parse_dtype(std::string_view text) { return find_name(kDTypes, text); }
std::optional<QuantType> parse_quant_type(std::string_view text) { return find_name(kQuantTypes, text); }
std::optional<KernelKind> parse_kernel_kind(std::string_view text) { return find_name(kKinds, text); }
std::optional<Activation> parse_activation(std::string_view text) { return find_name(kActivations, text); }

std::optional<TileConfig> parse_tile_config(std::string_view text) {
  TileConfig tile;
  const std::pair<char, int*> fields[] = {{'t', &tile.threads},
                                          {'m', &tile.m_blocks},
                                          {'n', &tile.n_blocks},
                                          {'k', &tile.k_blocks},
                                          {'s', &tile.stages}};
  for (const auto& [prefix, target] : fields) {
    if (!take_prefix(text, prefix)) return std::nullopt;
    auto number = take_number(text);
    if (!number || *number == 0) return std::nullopt;
    *target = *number;
  }
  if (!text.empty()) return std::nullopt;
  return tile;
}

}  // namespace marlin_jit
