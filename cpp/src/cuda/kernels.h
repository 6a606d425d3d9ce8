// The CUDA backend's entry points. Arguments are already validated (validate.h); `gpu` carries
// the call's stream and cuBLAS handle.
#pragma once

#include "cuda/blas.h"
#include "plan/sequence_plan.h"
#include "rnnkit/cell.h"
#include "rnnkit/sequence.h"
#include "validate.h"

namespace rnnkit::cuda {

template <typename T>
void forward(const CellSpec& cell, const SequenceOptions& options, const ForwardArgs& args,
             const CallSizes& sizes, const ExecutionContext& context);
template <typename T>
void backward(const CellSpec& cell, const SequenceOptions& options, const BackwardArgs& args,
              const CallSizes& sizes, const ExecutionContext& context);

// The graph cache key of a call: everything that decides which launches it makes, the GEMMs'
// math mode included (TF32 and full float32 GEMMs are other cuBLAS kernels).
std::uint64_t call_key(const CellSpec& cell, const SequenceOptions& options, const plan::Dims& d,
                       DType dtype, bool backward, bool allow_tf32,
                       std::initializer_list<const TensorView*> optional);

}  // namespace rnnkit::cuda
