// float32 <-> bfloat16 (rnnkit/bfloat16.h), one copy per ISA level: plain loops over the bits that
// the compiler turns into the level's widest integer vectors.
#include "cpu/convert.h"

#include <cstring>

RNNKIT_CPU_NAMESPACE_BEGIN

void float32_to_bfloat16(const float* source, std::uint16_t* destination, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, source + i, sizeof bits);
    // Adding 0x7FFF plus the kept part's lowest bit carries into the upper half exactly when the
    // dropped half is above one half, or equal to it with an odd kept part: ties go to even. An
    // overflow past the largest finite value carries into the exponent and gives infinity.
    const std::uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
    const bool nan = (bits & 0x7FFFFFFFu) > 0x7F800000u;
    const std::uint32_t quiet_nan = ((bits >> 16) & 0x8000u) | 0x7FC0u;
    destination[i] = static_cast<std::uint16_t>(nan ? quiet_nan : rounded);
  }
}

void bfloat16_to_float32(const std::uint16_t* source, float* destination, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) {
    const std::uint32_t bits = static_cast<std::uint32_t>(source[i]) << 16;
    std::memcpy(destination + i, &bits, sizeof bits);
  }
}

RNNKIT_CPU_NAMESPACE_END
