#include "rnnkit/workspace.h"

#include <cstdlib>
#include <new>
#include <string>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "rnnkit/error.h"

namespace rnnkit {

namespace {
constexpr std::int64_t kHugeFrom = std::int64_t(8) << 20;
constexpr std::size_t kHugePage = std::size_t(2) << 20, kLine = 64;
}  // namespace

void Workspace::Free::operator()(void* p) const { std::free(p); }

void Workspace::reserve(std::int64_t bytes) {
  if (bytes < 0) {
    throw InvalidArgument("Workspace: size must be >= 0 bytes, got " + std::to_string(bytes));
  }
  if (bytes <= capacity_) return;
  const bool huge = bytes >= kHugeFrom;
  const std::size_t align = huge ? kHugePage : kLine;
  const std::size_t size = (static_cast<std::size_t>(bytes) + align - 1) / align * align;
  data_.reset();  // the old buffer goes first: at most one is held
  capacity_ = 0;
  data_.reset(std::aligned_alloc(align, size));
  if (!data_) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (huge) madvise(data_.get(), size, MADV_HUGEPAGE);  // a hint: refused is fine
#endif
  capacity_ = bytes;
}

TensorView Workspace::view(std::int64_t bytes) {
  reserve(bytes);
  return make_view(data_.get(), DType::uint8, {bytes});
}

}  // namespace rnnkit
