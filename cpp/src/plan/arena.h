// Carves one caller-provided byte buffer into 64-byte aligned arrays. Running the same carving
// with a null base measures the size, so the memory queries and the kernels cannot disagree.
// Only pointer arithmetic: the buffer may be host or device memory.
#pragma once

#include <cstdint>

namespace rnnkit::plan {

class Arena {
 public:
  explicit Arena(void* base = nullptr) : base_(static_cast<char*>(base)) {}

  template <typename T>
  T* take(std::int64_t count) {
    offset_ = (offset_ + kAlign - 1) / kAlign * kAlign;
    T* at = base_ ? reinterpret_cast<T*>(base_ + offset_) : nullptr;
    offset_ += count * static_cast<std::int64_t>(sizeof(T));
    return at;
  }

  // Bytes used so far, plus the slack needed to align an unaligned base.
  std::int64_t bytes() const { return offset_ == 0 ? 0 : offset_ + kAlign; }

  static void* align(void* base) {
    const auto at = reinterpret_cast<std::uintptr_t>(base);
    return reinterpret_cast<void*>((at + kAlign - 1) / kAlign * kAlign);
  }

 private:
  static constexpr std::int64_t kAlign = 64;
  char* base_;
  std::int64_t offset_ = 0;
};

}  // namespace rnnkit::plan
