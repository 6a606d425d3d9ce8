// A non-owning view of a strided array: the one currency of rnnkit's entry points.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace rnnkit {

enum class DType : std::uint8_t { float32, float64, uint8 };
enum class Device : std::uint8_t { cpu, cuda };

const char* dtype_name(DType dtype);
const char* device_name(Device device);
std::int64_t dtype_size(DType dtype);

constexpr int kMaxRank = 4;

// Shape and strides count elements, not bytes. A default-constructed view is "absent": optional
// arguments are passed that way. The data is never owned, and rnnkit never keeps the pointer
// beyond the call that received it.
struct TensorView {
  void* data = nullptr;
  DType dtype = DType::float32;
  Device device = Device::cpu;
  int device_index = 0;  // which GPU, for Device::cuda
  int rank = 0;
  std::int64_t shape[kMaxRank] = {0, 0, 0, 0};
  std::int64_t strides[kMaxRank] = {0, 0, 0, 0};

  bool present() const { return data != nullptr || rank > 0; }
  std::int64_t numel() const;
  bool is_contiguous() const;  // C order (row-major), no padding

  template <typename T>
  T* as() const { return static_cast<T*>(data); }
};

// A C-contiguous view of `data` with the given shape.
TensorView make_view(void* data, DType dtype, std::initializer_list<std::int64_t> shape,
                     Device device = Device::cpu);

}  // namespace rnnkit
