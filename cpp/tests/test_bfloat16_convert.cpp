// rnnkit/bfloat16.h: float32 -> bfloat16 rounds to nearest with ties to even (overflow to
// infinity, denormals kept, NaN to the quiet NaN of its sign); bfloat16 -> float32 is exact.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "rnnkit/bfloat16.h"
#include "rnnkit/error.h"
#include "rnnkit/threads.h"
#include "test_harness.h"

namespace {

float float_of(std::uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// The nearer of the two bfloat16 values around `bits` (its upper half, and the next one away
// from zero), measured in double; the even one on a tie. Written from the definition, not from
// the bit trick the library uses.
std::uint16_t nearest_bfloat16(std::uint32_t bits) {
  const float x = float_of(bits);
  if (std::isnan(x)) return (bits & 0x80000000u) ? 0xFFC0 : 0x7FC0;
  const std::uint32_t low = bits & 0xFFFF0000u;
  if (low == bits) return static_cast<std::uint16_t>(bits >> 16);
  const std::uint32_t high = low + 0x10000u;  // infinity above the largest finite bfloat16
  // high's value, 2^128 in magnitude where it is infinity: low plus twice the half-way step
  const double low_value = float_of(low);
  const double high_value = low_value + 2.0 * (static_cast<double>(float_of(low + 0x8000u)) - low_value);
  const double to_low = std::fabs(static_cast<double>(x) - low_value);
  const double to_high = std::fabs(high_value - x);
  if (to_low < to_high) return static_cast<std::uint16_t>(low >> 16);
  if (to_high < to_low) return static_cast<std::uint16_t>(high >> 16);
  return static_cast<std::uint16_t>(((low >> 16) & 1u) ? high >> 16 : low >> 16);
}

// Every upper half (every sign, exponent and kept mantissa, infinities and NaNs among them) with
// lower halves at and around the tie, and a few more: 524,288 values, over the threshold above
// which the conversion runs on the thread team.
std::vector<std::uint32_t> test_bits() {
  const std::uint32_t lows[] = {0x0000, 0x0001, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0x1234, 0xC000};
  std::vector<std::uint32_t> bits;
  for (std::uint32_t high = 0; high < 0x10000u; ++high) {
    for (std::uint32_t low : lows) bits.push_back((high << 16) | low);
  }
  return bits;
}

}  // namespace

TEST_CASE(float32_to_bfloat16_rounds_to_nearest_even_on_every_exponent) {
  const std::vector<std::uint32_t> bits = test_bits();
  std::vector<float> values(bits.size());
  std::memcpy(values.data(), bits.data(), bits.size() * sizeof(float));
  const int threads_before = rnnkit::get_num_threads();
  for (int threads : {1, 2}) {
    rnnkit::set_num_threads(threads);
    std::vector<std::uint16_t> got(values.size(), 0x5555);
    rnnkit::float32_to_bfloat16(values.data(), got.data(), static_cast<std::int64_t>(got.size()));
    int wrong = 0;
    for (std::size_t i = 0; i < bits.size(); ++i) {
      if (got[i] != nearest_bfloat16(bits[i]) && wrong++ < 5) {
        CHECK_MSG(false, "bits " + std::to_string(bits[i]) + " gave " + std::to_string(got[i]) +
                             ", want " + std::to_string(nearest_bfloat16(bits[i])));
      }
    }
    CHECK_EQ(wrong, 0);
  }
  rnnkit::set_num_threads(threads_before);
}

TEST_CASE(bfloat16_to_float32_is_exact) {
  std::vector<std::uint16_t> halves(0x10000 * 5);
  for (std::size_t i = 0; i < halves.size(); ++i) halves[i] = static_cast<std::uint16_t>(i);
  std::vector<float> got(halves.size());
  rnnkit::bfloat16_to_float32(halves.data(), got.data(), static_cast<std::int64_t>(got.size()));
  int wrong = 0;
  for (std::size_t i = 0; i < halves.size(); ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, &got[i], sizeof bits);
    wrong += bits != (static_cast<std::uint32_t>(halves[i]) << 16);
  }
  CHECK_EQ(wrong, 0);
}

TEST_CASE(bfloat16_conversions_check_their_arguments) {
  float f = 1.0f;
  std::uint16_t h = 0;
  CHECK_THROWS_AS(rnnkit::float32_to_bfloat16(&f, &h, -1), rnnkit::InvalidArgument, "count");
  CHECK_THROWS_AS(rnnkit::float32_to_bfloat16(nullptr, &h, 1), rnnkit::InvalidArgument, "null");
  CHECK_THROWS_AS(rnnkit::bfloat16_to_float32(&h, nullptr, 1), rnnkit::InvalidArgument, "null");
  CHECK_NOTHROW(rnnkit::bfloat16_to_float32(nullptr, nullptr, 0));
  rnnkit::float32_to_bfloat16(&f, &h, 1);
  CHECK_EQ(h, 0x3F80);
}
