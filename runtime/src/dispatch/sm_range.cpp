// Rule sm_range: the compute capabilities Marlin kernels run on (SM80, 86, 87, 89, 90). Every refusal of a target
// architecture happens here; SM75-and-older and SM100-and-newer each get a message that says why.
#include <algorithm>
#include <string>

#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit {
namespace {

std::string allowed_sms() {
  std::string text;
  for (int sm : kSupportedSms) text += (text.empty() ? "sm_" : ", sm_") + std::to_string(sm);
  return text;
}

}  // namespace

bool is_supported_sm(int sm) noexcept {
  return sm >= kMinSm && sm < kMaxSmExclusive && std::find(kSupportedSms.begin(), kSupportedSms.end(), sm) != kSupportedSms.end();
}

void check_sm(int sm) {
  if (is_supported_sm(sm)) return;
  std::string value = "sm_" + std::to_string(sm);
  std::string why;
  if (sm < kMinSm) {
    why = "Marlin kernels need SM80 (Ampere) or newer";
  } else if (sm >= kMaxSmExclusive) {
    why = "SM100 and newer have native FP4; use a native FP4 path";
  } else {
    why = "allowed " + allowed_sms();
  }
  throw ConfigError("sm_range", value, allowed_sms(), value + " not supported: " + why);
}

}  // namespace marlin_jit
