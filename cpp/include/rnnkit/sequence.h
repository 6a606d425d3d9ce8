// Whole-sequence forward and backward (BPTT) of one recurrent layer.
//
// Sizes: B = batch, T = timesteps, I = input features, H = units, G = cell.gates().
// Every float tensor of one call has the same dtype (float32 or float64) and lives on the device
// of the call's ExecutionContext (context.h): host memory for the CPU, memory of GPU
// `device_index` for CUDA. Tensors must be C-contiguous and aligned to their element size;
// outputs must not alias inputs.
//
// Weights use the Keras layout and gate order (LSTM i, f, c, o; GRU z, r, h):
//   kernel            [I, G*H]
//   recurrent_kernel  [H, G*H]
//   bias              [G*H], or [2, 3H] for GRU with reset_after (row 0 input, row 1 recurrent)
//
// Keras semantics (those of keras.layers.SimpleRNN / GRU / LSTM):
//   * go_backwards reads x from t = T-1 down to 0; `output` is in processing order.
//   * mask[b, t] == 0 skips the step: states are carried unchanged, and the output repeats the
//     previous output (zeros before the first real step), or is zero with zero_output_for_mask.
//     The mask is read at the same original time index as x.
//   * input_dropout multiplies x_t before the kernel; recurrent_dropout multiplies h_{t-1} before the
//     recurrent kernel (never LSTM's c, never GRU's z*h_{t-1} term). A [B, .] mask is shared by all
//     gates; a [G, B, .] mask gives gate k its own row (Keras' implementation=1). Values are used as
//     given, so they carry Keras' 1/(1-rate) scale.
#pragma once

#include <cstdint>

#include "rnnkit/cell.h"
#include "rnnkit/context.h"
#include "rnnkit/tensor.h"

namespace rnnkit {

struct SequenceOptions {
  bool go_backwards = false;
  bool return_sequences = false;   // output [B, T, H] instead of the last output [B, H]
  bool zero_output_for_mask = false;
  bool training = false;           // fill `reserve` with what backward() needs
  // float32 calls on the CPU: the GEMMs (forward: the input projection and each step's recurrent
  // product; backward: the weight and input gradients and each step's dA_t R^T) multiply
  // bfloat16 roundings of their operands (x, the weights, h_{t-1}, the gate gradients) and sum
  // in float32, on AMX tiles where cpu_amx_bf16() (rnnkit/isa.h) says so; elsewhere the call
  // computes in float32 as without it. The state, the gates and the outputs stay float32 either
  // way. Keras' mixed_bfloat16 policy uses it. float64 and CUDA calls refuse it.
  bool bfloat16_matmuls = false;
};

struct ForwardArgs {
  TensorView x;                  // [B, T, I]
  TensorView kernel;             // [I, G*H]
  TensorView recurrent_kernel;   // [H, G*H]
  TensorView bias;               // see above; absent when !cell.use_bias
  TensorView initial_h;          // [B, H], optional (zeros)
  TensorView initial_c;          // [B, H], optional (zeros); LSTM only
  TensorView mask;               // [B, T] uint8 (0 = skip), optional
  TensorView input_dropout;      // [B, I] or [G, B, I], optional
  TensorView recurrent_dropout;  // [B, H] or [G, B, H], optional

  TensorView output;             // out: [B, T, H] with return_sequences, else [B, H]
  TensorView final_h;            // out: [B, H]
  TensorView final_c;            // out: [B, H]; LSTM only
  TensorView reserve;            // out, training only: [reserve_elements] of the float dtype
  TensorView workspace;          // scratch: [workspace_bytes] uint8, contents undefined after
};

struct BackwardArgs {
  // Exactly the inputs the forward call saw, and the reserve it filled with training = true.
  TensorView x, kernel, recurrent_kernel, bias, initial_h, initial_c, mask, input_dropout,
      recurrent_dropout;
  TensorView reserve;

  TensorView d_output;           // gradient of `output` (same shape)
  TensorView d_final_h;          // [B, H], optional (zero)
  TensorView d_final_c;          // [B, H], optional (zero); LSTM only

  TensorView d_x;                // out: [B, T, I]; optional: absent skips the input gradient
                                 // (a model's first layer reads data, which needs none)
  TensorView d_initial_h;        // out: [B, H]; optional: absent skips the initial state's
                                 // gradient (on the CPU, the first step's recurrent product)
  TensorView d_initial_c;        // out: [B, H]; LSTM only; optional
  TensorView d_kernel;           // out: like kernel
  TensorView d_recurrent_kernel; // out: like recurrent_kernel
  TensorView d_bias;             // out: like bias; absent when !cell.use_bias
  TensorView workspace;          // scratch: [workspace_bytes] uint8
};

struct MemorySizes {
  std::int64_t workspace_bytes = 0;
  std::int64_t reserve_elements = 0;  // forward with training = true only
};

// How much scratch (and, for training, reserve) one call on `device` needs: the workspace
// differs between devices, the reserve does not (a CPU reserve copied to a GPU, or back, serves
// the other backend's backward). Validates the spec and sizes.
MemorySizes forward_memory(const CellSpec& cell, const SequenceOptions& options, DType dtype,
                           std::int64_t batch, std::int64_t timesteps, Device device = Device::cpu);
MemorySizes backward_memory(const CellSpec& cell, const SequenceOptions& options, DType dtype,
                            std::int64_t batch, std::int64_t timesteps, Device device = Device::cpu);

// Both validate every tensor (presence, dtype, device, shape, layout, memory sizes) and throw
// InvalidArgument / TypeMismatch before touching any data or launching any kernel.
// `options.training` must match between the two calls. A CUDA call only queues work on
// context.stream; a failing CUDA or cuBLAS call throws Error naming the call and the error.
//
// Deterministic on every backend: the same inputs give bit-identical results
//   * CPU: for the same thread count (set_num_threads);
//   * CUDA: on the same GPU model with the same context settings (allow_tf32); no reduction
//     uses atomics, and cuBLAS is deterministic on one stream.
// Across backends results agree within rounding (float32 1e-5, float64 1e-12), not bit for bit.
void forward(const CellSpec& cell, const SequenceOptions& options, const ForwardArgs& args,
             const ExecutionContext& context = ExecutionContext::cpu());
void backward(const CellSpec& cell, const SequenceOptions& options, const BackwardArgs& args,
              const ExecutionContext& context = ExecutionContext::cpu());

}  // namespace rnnkit
