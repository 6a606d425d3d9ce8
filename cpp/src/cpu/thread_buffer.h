// Per-thread scratch that outlives a call: the packing buffers of the GEMMs (cpu/gemm.cpp,
// cpu/amx.cpp), sized by their largest use so far.
#pragma once

#include "cpu/isa.h"

#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>

RNNKIT_CPU_NAMESPACE_BEGIN

// This thread's buffer `which` (0 or 1) of elements of T, 64-byte aligned, at least `elements`
// long; reallocated (contents lost) only when it must grow.
template <typename T>
T* thread_buffer(int which, std::int64_t elements) {
  static_assert(std::is_trivially_destructible_v<T>, "raw, aligned storage");
  constexpr std::align_val_t kAlign{64};
  struct Free {  // the aligned operator delete that matches the aligned operator new below
    void operator()(T* p) const { ::operator delete(p, kAlign); }
  };
  struct Buffer {
    std::unique_ptr<T, Free> data;
    std::int64_t size = 0;
  };
  thread_local Buffer buffers[2];
  Buffer& b = buffers[which];
  if (b.size < elements) {
    b.data.reset();
    const std::size_t bytes = static_cast<std::size_t>(elements) * sizeof(T);
    b.data.reset(static_cast<T*>(::operator new(bytes, kAlign)));
    b.size = elements;
  }
  return b.data.get();
}

RNNKIT_CPU_NAMESPACE_END
