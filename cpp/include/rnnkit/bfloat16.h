// Conversions between float32 and bfloat16, the format of the mixed_bfloat16 layers' values. A
// bfloat16 is the upper half of a float32's bits (sign, 8 exponent bits, 7 mantissa bits), held
// here as std::uint16_t. The conversions agree bit for bit with ml_dtypes' (and so NumPy's
// astype to and from ml_dtypes.bfloat16):
//
//   float32 -> bfloat16  rounds to nearest, ties to even; a value too large for bfloat16 becomes
//                        infinity; denormals are rounded, not flushed; a NaN becomes the quiet
//                        NaN of its sign (0x7FC0 or 0xFFC0).
//   bfloat16 -> float32  exact: the 16 bits followed by 16 zero bits.
//
// Both run the best ISA level of the CPU (rnnkit/isa.h), large arrays on the thread team
// (rnnkit/threads.h); they do not allocate, and accept any count >= 0 (a negative count, or a
// null pointer with a positive count, throws InvalidArgument). Source and destination must not
// overlap.
#pragma once

#include <cstdint>

namespace rnnkit {

void float32_to_bfloat16(const float* source, std::uint16_t* destination, std::int64_t count);

void bfloat16_to_float32(const std::uint16_t* source, float* destination, std::int64_t count);

}  // namespace rnnkit
