// The CPU backend's entry points. Arguments are already validated (validate.h).
#pragma once

#include "rnnkit/cell.h"
#include "rnnkit/sequence.h"
#include "validate.h"

namespace rnnkit::cpu {

template <typename T>
void forward(const CellSpec& cell, const SequenceOptions& options, const ForwardArgs& args,
             const CallSizes& sizes);

template <typename T>
void backward(const CellSpec& cell, const SequenceOptions& options, const BackwardArgs& args,
              const CallSizes& sizes);

}  // namespace rnnkit::cpu
