// The instruction table (DESIGN.md "One table, many users"). Each
// instruction is named once, in the rows of the group file that implements
// it: its Zydis mnemonic, a selector that returns the handler specialised
// for a decoded form, the flags it defines and leaves undefined, and the
// CPU feature it needs. The decoder, the interpreter, the fuzzer (which
// masks undefined flags) and the tests all read these rows.
#pragma once
#include <Zydis/Zydis.h>

#include <cstdint>
#include <span>

#include "decoder/insn.h"
#include "emu/cpu_model.h"

namespace softvt {

using Selector = Handler (*)(const Insn&);

struct InsnRow {
  ZydisMnemonic mnemonic;
  Selector select;       // returns nullptr for a form softvt rejects (#UD)
  uint32_t flags_def;    // RFLAGS bits the SDM defines as written
  uint32_t flags_undef;  // RFLAGS bits the SDM leaves undefined for some
                         // inputs (e.g. OF of a shift whose count is not 1:
                         // such a flag is in both masks); comparisons mask them
  Feature feature;
  uint8_t ends_block;    // 1: may change RIP or the mode; the block ends here
};

// Each group file defines its rows; the table is their concatenation.
std::span<const InsnRow> rows_data_move();
std::span<const InsnRow> rows_alu();
std::span<const InsnRow> rows_shift_rotate();
std::span<const InsnRow> rows_bits();
std::span<const InsnRow> rows_muldiv_bcd();
std::span<const InsnRow> rows_string();
std::span<const InsnRow> rows_control();
std::span<const InsnRow> rows_stack();
std::span<const InsnRow> rows_system();
std::span<const InsnRow> rows_atomic();
std::span<const InsnRow> rows_x87_load_store();
std::span<const InsnRow> rows_x87_arith();
std::span<const InsnRow> rows_x87_compare();
std::span<const InsnRow> rows_x87_transcendental();
std::span<const InsnRow> rows_x87_control();
std::span<const InsnRow> rows_simd_int_move();
std::span<const InsnRow> rows_simd_int_arith();
std::span<const InsnRow> rows_simd_int_compare();
std::span<const InsnRow> rows_simd_int_shift();
std::span<const InsnRow> rows_simd_int_shuffle();
std::span<const InsnRow> rows_sse();
std::span<const InsnRow> rows_system_calls();
std::span<const InsnRow> rows_system_misc();
std::span<const InsnRow> rows_vmx();  // vmx/instructions.cpp
std::span<const InsnRow> rows_svm();  // svm/instructions.cpp

// Row lookup by mnemonic (nullptr if softvt does not implement it) and by
// index (Insn::row).
const InsnRow* find_row(ZydisMnemonic m);
const InsnRow& row_at(uint16_t index);
std::span<const InsnRow> all_rows();
uint16_t row_index(const InsnRow* r);

// Selector helpers. SIZED(h) picks h<1>, h<2>, h<4> or h<8> by the
// instruction's operand size; FIXED(h) always returns h.
#define SOFTVT_SIZED(h)                                 \
  [](const ::softvt::Insn& i) -> ::softvt::Handler {    \
    switch (i.opsize) {                                 \
      case 1: return h<1>;                              \
      case 2: return h<2>;                              \
      case 4: return h<4>;                              \
      default: return h<8>;                             \
    }                                                   \
  }
#define SOFTVT_SIZED_WDQ(h)                             \
  [](const ::softvt::Insn& i) -> ::softvt::Handler {    \
    switch (i.opsize) {                                 \
      case 2: return h<2>;                              \
      case 4: return h<4>;                              \
      case 8: return h<8>;                              \
      default: return nullptr;                          \
    }                                                   \
  }
// SOFTVT_SIZED_DQ(h): 32- and 64-bit forms only (the VEX-encoded BMI forms).
#define SOFTVT_SIZED_DQ(h)                              \
  [](const ::softvt::Insn& i) -> ::softvt::Handler {    \
    switch (i.opsize) {                                 \
      case 4: return h<4>;                              \
      case 8: return h<8>;                              \
      default: return nullptr;                          \
    }                                                   \
  }
#define SOFTVT_FIXED(h) \
  [](const ::softvt::Insn&) -> ::softvt::Handler { return h; }

}  // namespace softvt
