// Spec strings <-> KernelSpec (grammar in marlin_jit/kernel_spec.hpp). Every refusal throws ConfigError with rule
// "spec_grammar" naming the part that failed; to_string(parse_kernel_spec(s)) == s for every accepted s.
#include "marlin_jit/kernel_spec.hpp"

#include <charconv>
#include <vector>

#include "marlin_jit/error.hpp"

namespace marlin_jit {
namespace {

constexpr const char* kGrammar =
    "dense/<quant>/<dtype>/g<group>/sm_<NN>/<tile> | moe/<quant>/<dtype>/g<group>/<activation>/sm_<NN>/<tile> | "
    "prep/<quant>/<op>/sm_<NN>";

[[noreturn]] void refuse(std::string_view spec, std::string_view part, const std::string& why) {
  throw ConfigError("spec_grammar", std::string(part), kGrammar,
                    "bad kernel spec '" + std::string(spec) + "': " + why);
}

std::vector<std::string_view> split(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t slash = text.find('/', start);
    parts.push_back(text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) return parts;
    start = slash + 1;
  }
}

// A canonical decimal (optional '-', no leading zeros) after `prefix`.
std::optional<int> number_after(std::string_view part, std::string_view prefix) {
  if (part.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view digits = part.substr(prefix.size());
  int value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  if (std::to_string(value) != digits) return std::nullopt;  // rejects "+1", "016", "-0"
  return value;
}

class SpecParser {
 public:
  explicit SpecParser(std::string_view text) : text_(text), parts_(split(text)) {}

  KernelSpec parse() {
    if (parts_.empty() || parts_[0].empty()) refuse(text_, text_, "empty spec");
    auto kind = parse_kernel_kind(parts_[0]);
    if (!kind) refuse(text_, parts_[0], "unknown kind '" + std::string(parts_[0]) + "' (dense, moe or prep)");
    KernelSpec spec;
    spec.kind = *kind;
    std::size_t expected = spec.kind == KernelKind::dense ? 6 : spec.kind == KernelKind::moe ? 7 : 4;
    if (parts_.size() != expected) {
      refuse(text_, text_,
             "a " + std::string(parts_[0]) + " spec has " + std::to_string(expected) + " '/'-separated parts, not " +
                 std::to_string(parts_.size()));
    }
    spec.quant = quant(parts_[1]);
    if (spec.kind == KernelKind::prep) {
      spec.prep_op = prep_op(parts_[2]);
      spec.sm = sm(parts_[3]);
      return spec;
    }
    spec.dtype = dtype(parts_[2]);
    spec.group_size = group(parts_[3]);
    std::size_t next = 4;
    if (spec.kind == KernelKind::moe) spec.activation = moe_activation(parts_[next++]);
    spec.sm = sm(parts_[next++]);
    spec.tile = tile(parts_[next]);
    return spec;
  }

 private:
  QuantType quant(std::string_view part) const {
    if (auto value = parse_quant_type(part)) return *value;
    refuse(text_, part, "unknown quant type '" + std::string(part) + "' (nvfp4, mxfp4, uint4b8, uint4, uint8b128)");
  }
  DType dtype(std::string_view part) const {
    if (auto value = parse_dtype(part)) return *value;
    refuse(text_, part, "unknown dtype '" + std::string(part) + "' (fp16 or bf16)");
  }
  int group(std::string_view part) const {
    auto value = number_after(part, "g");
    if (value && (*value > 0 || *value == -1)) return *value;
    refuse(text_, part, "bad group '" + std::string(part) + "' (g<size> or g-1 for per channel)");
  }
  Activation moe_activation(std::string_view part) const {
    auto value = parse_activation(part);  // none: the down projection (GEMM2), weighted by top-k, no activation
    if (value) return *value;
    refuse(text_, part, "unknown activation '" + std::string(part) + "' (silu_gated, relu2 or none)");
  }
  int sm(std::string_view part) const {
    auto value = number_after(part, "sm_");
    if (value && *value > 0) return *value;
    refuse(text_, part, "bad target '" + std::string(part) + "' (sm_<NN>, e.g. sm_90)");
  }
  TileConfig tile(std::string_view part) const {
    if (auto value = parse_tile_config(part)) return *value;
    refuse(text_, part, "bad tile '" + std::string(part) + "' (t<threads>m<m>n<n>k<k>s<stages>, e.g. t256m1n8k8s4)");
  }
  std::string prep_op(std::string_view part) const {
    bool ok = !part.empty();
    for (char c : part) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    if (ok) return std::string(part);
    refuse(text_, part, "bad prep op '" + std::string(part) + "' (a word of [a-z0-9_])");
  }

  std::string_view text_;
  std::vector<std::string_view> parts_;
};

}  // namespace

std::string to_string(const KernelSpec& spec) {
  std::string sm = "sm_" + std::to_string(spec.sm);
  std::string quant = to_string(spec.quant);
  if (spec.kind == KernelKind::prep) return "prep/" + quant + "/" + spec.prep_op + "/" + sm;
  std::string text = to_string(spec.kind) + "/" + quant + "/" + to_string(spec.dtype) + "/g" +
                     std::to_string(spec.group_size) + "/";
  if (spec.kind == KernelKind::moe) text += to_string(spec.activation) + "/";
  return text + sm + "/" + to_string(spec.tile);
}

KernelSpec parse_kernel_spec(std::string_view text) { return SpecParser(text).parse(); }

}  // namespace marlin_jit
