#include "plan/reserve_stamp.h"

#include <string>
#include <utility>
#include <vector>

#include "rnnkit/activation.h"
#include "rnnkit/error.h"

namespace rnnkit::plan {

namespace {

// The options a stamp word holds, as (name, value) pairs.
std::vector<std::pair<std::string, std::string>> options_of(std::uint64_t w) {
  const auto flag = [w](int bit) { return std::string((w >> bit & 1) ? "True" : "False"); };
  const auto kind = static_cast<CellKind>(w & 0xff);
  return {{"cell", cell_kind_name(kind)},
          {"reset_after", kind == CellKind::gru ? flag(8) : "-"},
          {"activation", activation_name(static_cast<Activation>(w >> 16 & 0xff))},
          {"recurrent_activation", activation_name(static_cast<Activation>(w >> 24 & 0xff))},
          {"dtype", dtype_name(static_cast<DType>(w >> 32 & 0xff))},
          {"use_bias", flag(40)},
          {"go_backwards", flag(41)},
          {"return_sequences", flag(42)},
          {"zero_output_for_mask", flag(43)}};
}

// "go_backwards=False, ..." and "go_backwards=True, ...": only the options that differ.
std::pair<std::string, std::string> differing_options(std::uint64_t found, std::uint64_t expected) {
  const auto a = options_of(found), b = options_of(expected);
  std::string was, is;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].second == b[i].second) continue;
    was += (was.empty() ? "" : ", ") + a[i].first + "=" + a[i].second;
    is += (is.empty() ? "" : ", ") + b[i].first + "=" + b[i].second;
  }
  return {was, is};
}

std::string describe_sizes(const ReserveStamp& s) {
  return "(B, T, I, H) = (" + std::to_string(s.words[2]) + ", " + std::to_string(s.words[3]) +
         ", " + std::to_string(s.words[4]) + ", " + std::to_string(s.words[5]) + ")";
}

}  // namespace

void check_stamp(const ReserveStamp& expected, const ReserveStamp& found) {
  const std::string intro = "argument 'reserve' does not belong to this backward call: ";
  if (found.words[0] != kStampMagic) {
    throw InvalidArgument(intro + "it was not filled by a forward call with training=True (its "
                          "stamp is missing: pass the reserve that call returned, unchanged)");
  }
  if (found.words[1] != expected.words[1]) {
    const auto [was, is] = differing_options(found.words[1], expected.words[1]);
    throw InvalidArgument(intro + "the forward call that filled it had " + was +
                          "; this call has " + is);
  }
  for (int k = 2; k <= 5; ++k) {
    if (found.words[k] != expected.words[k]) {
      throw InvalidArgument(intro + "the forward call that filled it had sizes " +
                            describe_sizes(found) + "; this call has " + describe_sizes(expected));
    }
  }
  if (found.words[6] != expected.words[6]) {
    throw InvalidArgument(intro + "the forward call that filled it saw other inputs (x, the "
                          "mask, a dropout mask, kernel or recurrent_kernel differ): pass exactly "
                          "the arrays of the forward call");
  }
}

}  // namespace rnnkit::plan
