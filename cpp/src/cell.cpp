#include "rnnkit/cell.h"

#include <cstring>
#include <string>

#include "rnnkit/error.h"

namespace rnnkit {

const char* cell_kind_name(CellKind kind) {
  switch (kind) {
    case CellKind::simple_rnn: return "simple_rnn";
    case CellKind::gru: return "gru";
    case CellKind::lstm: return "lstm";
  }
  return "unknown";
}

CellKind cell_kind_from_name(const char* name) {
  for (CellKind kind : {CellKind::simple_rnn, CellKind::gru, CellKind::lstm}) {
    if (std::strcmp(name, cell_kind_name(kind)) == 0) return kind;
  }
  throw InvalidArgument(std::string("cell must be one of 'simple_rnn', 'gru', 'lstm'; got '") +
                        name + "'");
}

int CellSpec::gates() const {
  switch (kind) {
    case CellKind::simple_rnn: return 1;
    case CellKind::gru: return 3;
    case CellKind::lstm: return 4;
  }
  return 0;
}

int CellSpec::states() const { return kind == CellKind::lstm ? 2 : 1; }

}  // namespace rnnkit
