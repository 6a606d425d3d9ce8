// The caller's dropout masks as the kernels read them: none, one shared by every gate, or one per
// gate (Keras' implementation=1). Rows hold the already scaled multipliers of one sample.
#pragma once

#include "cpu/isa.h"

#include <cstdint>

#include "rnnkit/tensor.h"

RNNKIT_CPU_NAMESPACE_BEGIN

template <typename T>
struct DropoutMasks {
  const T* data = nullptr;
  int count = 0;            // 0: none, 1: shared, G: per gate
  std::int64_t plane = 0;   // B * width: one mask

  // `view` is [B, width] or [G, B, width], already validated.
  DropoutMasks(const TensorView& view, std::int64_t gates, std::int64_t batch, std::int64_t width)
      : data(view.present() ? view.as<const T>() : nullptr),
        count(view.present() ? (view.rank == 3 ? static_cast<int>(gates) : 1) : 0),
        plane(batch * width) {}

  bool none() const { return count == 0; }
  bool shared() const { return count == 1; }
  // Gate g's mask [B, width]; nullptr without dropout.
  const T* gate(int g) const { return count == 0 ? nullptr : data + (count == 1 ? 0 : g) * plane; }
};

RNNKIT_CPU_NAMESPACE_END
