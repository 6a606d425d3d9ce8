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

CellKind cell_kind_from_name(const char* name) { return cell_kind_from_name(std::string(name)); }

CellKind cell_kind_from_name(const std::string& name) {
  for (CellKind kind : {CellKind::simple_rnn, CellKind::gru, CellKind::lstm}) {
    if (name == cell_kind_name(kind)) return kind;
  }
  std::string shown;
  for (char ch : name) {
    if (ch == '\0') shown += "\\x00";
    else shown += ch;
  }
  throw InvalidArgument("argument 'cell' must be one of 'simple_rnn', 'gru', 'lstm'; got '" +
                        shown + "'");
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
