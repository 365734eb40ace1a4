// Descriptor decoding and the protected-mode checks shared by segment
// loads, far transfers, event delivery and the system instructions
// (SDM Vol. 3A 3.4.5, 3.5, 5.5-5.8, 6.10-6.14, 7.2). Implemented in
// emu/segments.cpp.
#pragma once
#include <cstdint>
#include <string>

#include "emu/cpu.h"

namespace softvt {

// Fields of an 8-byte segment or gate descriptor (SDM 3.4.5, 5.8.3, 6.11).
namespace desc {
constexpr uint8_t TYPE_ACCESSED = 1;

// System descriptor types (S = 0), SDM Table 3-2.
constexpr uint8_t TSS16_AVAIL = 1, LDT = 2, TSS16_BUSY = 3, CALL_GATE16 = 4, TASK_GATE = 5;
constexpr uint8_t INT_GATE16 = 6, TRAP_GATE16 = 7, TSS_AVAIL = 9, TSS_BUSY = 0xb;
constexpr uint8_t CALL_GATE = 0xc, INT_GATE = 0xe, TRAP_GATE = 0xf;
constexpr uint64_t BUSY_BIT = 1ull << 41;  // type bit 1 of a TSS descriptor

inline uint8_t type(uint64_t d) { return uint8_t((d >> 40) & 0xf); }
inline bool code_or_data(uint64_t d) { return d & (1ull << 44); }  // S bit
inline uint8_t dpl(uint64_t d) { return uint8_t((d >> 45) & 3); }
inline bool present(uint64_t d) { return d & (1ull << 47); }
inline bool long_bit(uint64_t d) { return d & (1ull << 53); }
inline bool db_bit(uint64_t d) { return d & (1ull << 54); }
inline bool is_code(uint64_t d) { return code_or_data(d) && (type(d) & 8); }
inline bool is_data(uint64_t d) { return code_or_data(d) && !(type(d) & 8); }
inline bool conforming(uint64_t d) { return is_code(d) && (type(d) & 4); }
inline bool readable(uint64_t d) { return is_data(d) || (type(d) & 2); }
inline bool writable_data(uint64_t d) { return is_data(d) && (type(d) & 2); }
inline bool system_type(uint64_t d, uint8_t t) { return !code_or_data(d) && type(d) == t; }
// Base and byte-granular limit of a segment descriptor.
uint64_t base(uint64_t d);
uint32_t limit(uint64_t d);

// Gate fields (SDM Figures 5-8, 6-2, 6-8).
inline uint16_t gate_selector(uint64_t d) { return uint16_t(d >> 16); }
inline uint32_t gate_offset32(uint64_t d) {
  return uint32_t((d & 0xffff) | ((d >> 32) & 0xffff0000u));
}
inline uint64_t gate_offset64(uint64_t lo, uint64_t hi) {
  return gate_offset32(lo) | ((hi & 0xffffffffull) << 32);
}
inline unsigned gate_param_count(uint64_t d) { return unsigned((d >> 32) & 0x1f); }
inline unsigned gate_ist(uint64_t d) { return unsigned((d >> 32) & 7); }
}  // namespace desc

inline bool null_selector(uint16_t sel) { return (sel & 0xfffc) == 0; }
inline uint32_t selector_error(uint16_t sel) { return sel & 0xfffc; }

// The linear address of the descriptor for `sel` (no checks).
uint64_t descriptor_address(const Cpu& cpu, uint16_t sel);
// The upper 8 bytes of a 16-byte system descriptor in IA-32e mode (LDT,
// TSS, call gate; SDM 7.2.3, 5.8.3.1), raising fault_vector(sel) when they
// lie outside the table limit.
uint64_t read_descriptor_high(Cpu& cpu, uint16_t sel, uint8_t fault_vector);

// The hidden part of a segment register holding a null selector: unusable
// (SDM 3.4.3; Intel clears the base, and SS keeps DPL = CPL).
SegReg null_segment(uint16_t sel, uint8_t dpl);

// The stack for privilege level `dpl` from the current TSS (SDM 7.2.1,
// 7.7): 16- and 32-bit TSS give SS:ESP; `ext` is or-ed into #TS error codes.
struct TssStack {
  uint16_t ss;
  uint64_t sp;
};
TssStack tss_stack_legacy(Cpu& cpu, uint8_t dpl, uint32_t ext);
// RSPn (ist == 0) or ISTn (ist 1..7) from a 64-bit TSS (SDM 7.7).
uint64_t tss_stack_64(Cpu& cpu, uint8_t dpl, unsigned ist, uint32_t ext);

// The checks of a new stack segment for an inter-privilege CALL or
// interrupt (SDM Vol. 2 CALL and INT n "MORE-PRIVILEGE"): null -> #TS(ext),
// outside the table, RPL or DPL != new CPL or not a writable data segment
// -> #TS(sel + ext), not present -> #SS(sel + ext). Returns the descriptor.
uint64_t check_new_stack_segment(Cpu& cpu, uint16_t ss, uint8_t new_cpl, uint32_t ext);

// Loads SS from a descriptor already checked (marks it accessed).
void load_ss_checked(Cpu& cpu, uint16_t ss, uint64_t d);

// After a return to an outer privilege level (RET far, IRET): data segment
// registers whose DPL is below the new CPL, and that are not conforming
// code segments, are loaded with a null selector (SDM Vol. 2 RET, IRET).
void null_inaccessible_data_segments(Cpu& cpu);

// A stack frame written to a stack that need not be the current one
// (event delivery, inter-privilege CALL). All slots are checked against the
// segment limit (or for canonical form) before anything is written, and
// every page is probed before the first write, so a fault leaves registers
// and memory untouched; the caller commits registers after write().
class StackFrame {
 public:
  // `ss`: the hidden part of the stack segment; `addr_size`: 2, 4 or 8;
  // `user`: the accesses are made at CPL 3; #SS(fault_err) on a limit or
  // canonical violation.
  StackFrame(Cpu& cpu, const SegReg& ss, unsigned addr_size, uint64_t sp, bool user,
             uint32_t fault_err);
  void push(uint64_t value, unsigned size);
  // Checks every slot (SDM: "IF stack does not have room ... THEN #SS").
  void check();
  // Writes the frame; returns the new stack pointer (merged into `sp`'s
  // bits above the address size, as a push does).
  uint64_t write();

 private:
  uint64_t linear_of(unsigned i) const;
  Cpu& cpu_;
  SegReg ss_;
  unsigned addr_size_;
  uint64_t sp_;
  bool user_;
  uint32_t fault_err_;
  unsigned n_ = 0;
  uint64_t values_[40];  // up to 31 call-gate parameters + 4
  uint64_t offsets_[40];
  uint8_t sizes_[40];
};

// Is `off`..`off+size-1` inside the segment (limit, expand-down; SDM 5.3)?
bool offset_in_limit(const SegReg& r, uint64_t off, unsigned size);

uint64_t mask_of_size(unsigned bytes);

// Canonical check of a linear address for the current paging width.
bool is_canonical(const Cpu& cpu, uint64_t addr);

}  // namespace softvt
