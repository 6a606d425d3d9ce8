// Everything a C++ user of rnnkit includes.
#pragma once

#include "rnnkit/activation.h"
#include "rnnkit/bfloat16.h"
#include "rnnkit/cell.h"
#include "rnnkit/context.h"
#include "rnnkit/error.h"
#include "rnnkit/isa.h"
#include "rnnkit/sequence.h"
#include "rnnkit/stream.h"
#include "rnnkit/tensor.h"
#include "rnnkit/threads.h"
#include "rnnkit/workspace.h"
