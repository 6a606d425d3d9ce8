// The CPU backend's entry points. Arguments are already validated (validate.h).
#pragma once

#include "cpu/isa.h"

#include "rnnkit/cell.h"
#include "rnnkit/sequence.h"
#include "validate.h"

RNNKIT_CPU_NAMESPACE_BEGIN

template <typename T>
void forward(const CellSpec& cell, const SequenceOptions& options, const ForwardArgs& args,
             const CallSizes& sizes);

template <typename T>
void backward(const CellSpec& cell, const SequenceOptions& options, const BackwardArgs& args,
              const CallSizes& sizes);

RNNKIT_CPU_NAMESPACE_END
