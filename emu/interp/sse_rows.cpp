// Joins the SSE/SSE2 groups' rows into the one span the instruction table
// takes (emu/interp/table.cpp rows_sse()).
#include "emu/interp/sse_rows.h"

#include <vector>

namespace softvt {

std::span<const InsnRow> rows_sse() {
  static const std::vector<InsnRow> rows = [] {
    std::vector<InsnRow> v;
    for (auto group : {rows_sse_move(), rows_sse_arith(), rows_sse_compare(), rows_sse_convert(),
                       rows_sse_logic_shuffle(), rows_sse_state()})
      v.insert(v.end(), group.begin(), group.end());
    return v;
  }();
  return rows;
}

}  // namespace softvt
