// What a recurrent cell computes: its kind, sizes and elementwise functions. Weights live outside,
// in the Keras layout (see sequence.h).
#pragma once

#include <cstdint>
#include <string>

#include "rnnkit/activation.h"

namespace rnnkit {

enum class CellKind { simple_rnn, gru, lstm };

const char* cell_kind_name(CellKind kind);
CellKind cell_kind_from_name(const char* name);  // "simple_rnn" | "gru" | "lstm"
// The same for a string that may hold NUL bytes: the whole string must match ("lstm\0x" does not).
CellKind cell_kind_from_name(const std::string& name);

struct CellSpec {
  CellKind kind = CellKind::lstm;
  std::int64_t input_size = 0;  // I: features of x_t
  std::int64_t units = 0;       // H
  Activation activation = Activation::tanh;
  Activation recurrent_activation = Activation::sigmoid;  // GRU and LSTM gates
  bool use_bias = true;
  bool reset_after = true;  // GRU only: Keras' default, cuDNN-compatible variant

  // Gate blocks in the kernels: 1 (SimpleRNN), 3 (GRU: z, r, h), 4 (LSTM: i, f, c, o).
  int gates() const;
  // State tensors: 1 (h), or 2 for LSTM (h, c).
  int states() const;
};

}  // namespace rnnkit
