// Scratch memory for forward() and backward() (rnnkit/sequence.h) that a caller keeps from call
// to call: a fresh buffer costs a page fault per page on every call. It grows when a call needs
// more (its contents are then lost) and never shrinks. 64-byte aligned; from 8 MiB on, 2 MiB
// aligned and asked for transparent huge pages before its first use (Linux, madvise): the time
// loop reads packed recurrent weights too large for the caches once per step (GRU and LSTM at
// H = 1024), and with 4 KiB pages that costs a TLB miss every few panels.
#pragma once

#include <cstdint>
#include <memory>

#include "rnnkit/tensor.h"

namespace rnnkit {

class Workspace {
 public:
  Workspace() = default;
  // Holds at least `bytes` from the start.
  explicit Workspace(std::int64_t bytes) { reserve(bytes); }

  // Grows to at least `bytes` if it holds fewer. Throws InvalidArgument for a negative size.
  void reserve(std::int64_t bytes);
  // The first `bytes` bytes as a uint8 view, for ForwardArgs / BackwardArgs::workspace; grows first.
  TensorView view(std::int64_t bytes);

  void* data() const { return data_.get(); }
  std::int64_t capacity() const { return capacity_; }

 private:
  struct Free {
    void operator()(void* p) const;
  };
  std::unique_ptr<void, Free> data_;
  std::int64_t capacity_ = 0;
};

}  // namespace rnnkit
