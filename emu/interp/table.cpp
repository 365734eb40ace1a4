// Concatenates the group files' rows into the one instruction table and
// indexes it by Zydis mnemonic.
#include "emu/interp/table.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace softvt {
namespace {

struct Table {
  std::vector<InsnRow> rows;
  std::vector<int32_t> by_mnemonic;

  Table() {
    // One group per line, so that branches adding groups merge cleanly.
    for (auto group : {
             rows_data_move(),
             rows_alu(),
             rows_shift_rotate(),
             rows_bits(),
             rows_muldiv_bcd(),
             rows_string(),
             rows_control(),
             rows_stack(),
             rows_system(),
             rows_atomic(),
             rows_system_calls(),
             rows_system_misc(),
             rows_vmx(),
             rows_svm(),
             rows_x87_load_store(),
             rows_x87_arith(),
             rows_x87_compare(),
             rows_x87_transcendental(),
             rows_x87_control(),
             rows_simd_int_move(),
             rows_simd_int_arith(),
             rows_simd_int_compare(),
             rows_simd_int_shift(),
             rows_simd_int_shuffle(),
             rows_sse(),
         })
      rows.insert(rows.end(), group.begin(), group.end());
    by_mnemonic.assign(ZYDIS_MNEMONIC_MAX_VALUE + 1, -1);
    for (size_t i = 0; i < rows.size(); ++i) {
      auto m = rows[i].mnemonic;
      // An instruction is named once (DESIGN.md "One table, many users").
      if (by_mnemonic[m] != -1)
        throw std::logic_error(std::string("instruction table names twice: ") +
                               ZydisMnemonicGetString(m));
      by_mnemonic[m] = int32_t(i);
    }
  }
};

const Table& table() {
  static const Table t;
  return t;
}

}  // namespace

const InsnRow* find_row(ZydisMnemonic m) {
  const Table& t = table();
  if (unsigned(m) >= t.by_mnemonic.size() || t.by_mnemonic[m] < 0) return nullptr;
  return &t.rows[size_t(t.by_mnemonic[m])];
}

const InsnRow& row_at(uint16_t index) { return table().rows.at(index); }

uint16_t row_index(const InsnRow* r) { return uint16_t(r - table().rows.data()); }

std::span<const InsnRow> all_rows() { return table().rows; }

}  // namespace softvt
