// The SIMD vector of the GEMM kernels (gemm.cpp, stream.cpp): GCC/Clang vector extensions, so the
// compiler emits the widest SIMD (and FMA, with -ffp-contract=fast) the level's flags allow,
// without per-ISA intrinsics. Unaligned loads and stores go through memcpy.
#pragma once

#include <cstring>

#include "cpu/gemm.h"

RNNKIT_CPU_NAMESPACE_BEGIN

template <typename T>
struct SimdOf;
template <>
struct SimdOf<float> {
  typedef float type __attribute__((vector_size(kVectorBytes)));
};
template <>
struct SimdOf<double> {
  typedef double type __attribute__((vector_size(kVectorBytes)));
};

template <typename V, typename T>
inline V load(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}

template <typename V, typename T>
inline void store(T* p, V v) {
  std::memcpy(p, &v, sizeof(V));
}

RNNKIT_CPU_NAMESPACE_END
