// Each ISA level's float32 <-> bfloat16 loops; rnnkit/bfloat16.h (cpu/dispatch.cpp) checks the
// arguments and calls the chosen level's.
#pragma once

#include <cstdint>

#include "cpu/isa.h"

RNNKIT_CPU_NAMESPACE_BEGIN

void float32_to_bfloat16(const float* source, std::uint16_t* destination, std::int64_t count);

void bfloat16_to_float32(const std::uint16_t* source, float* destination, std::int64_t count);

RNNKIT_CPU_NAMESPACE_END
