// Which instruction-set level the CPU kernels run. rnnkit compiles its CPU kernels once per level
// (baseline x86-64, AVX2+FMA, AVX-512) and picks the best one the CPU supports the first time a
// kernel runs; RNNKIT_ISA=baseline|avx2|avx512 in the environment forces a lower one. A build
// made with RNNKIT_NATIVE=ON has the single level "native" (-march=native).
#pragma once

#include <string>
#include <vector>

namespace rnnkit {

// The level the CPU kernels run: "baseline", "avx2", "avx512" or "native". Chooses it on the
// first call. Throws InvalidArgument when RNNKIT_ISA names an unknown level, one this build does
// not have, or one this CPU cannot run (every CPU kernel call then throws the same).
std::string cpu_isa();

// The levels this build has, lowest first (e.g. {"baseline", "avx2", "avx512"}).
std::vector<std::string> cpu_isa_compiled();

// The levels of cpu_isa_compiled() this CPU can run, lowest first.
std::vector<std::string> cpu_isa_supported();

// Whether float32 calls made with SequenceOptions::bfloat16_matmuls multiply on AMX tiles: the
// chosen level has the kernels (avx512, built by a compiler that knows AMX), the CPU has
// AMX-BF16, the OS lets the process use the tiles, and RNNKIT_AMX is not "0". When false, those
// calls compute in float32 as without the option.
bool cpu_amx_bf16();

}  // namespace rnnkit
