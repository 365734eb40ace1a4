// Debug registers and #DB (SDM Vol. 3B 17.2-17.3; Vol. 3A 6.8.3, 6.9).
#include "emu/debug.h"

#include "emu/cpu.h"
#include "vmx/nonroot.h"

namespace softvt {
namespace {

// Breakpoint lengths by DR7.LENn (SDM 17.2.5): 00 = 1 byte, 01 = 2, 11 = 4,
// 10 = 8 (processors with 64-bit support; softvt treats it so in every mode).
unsigned breakpoint_length(uint64_t dr7v, unsigned n) {
  static constexpr unsigned kLen[4] = {1, 2, 8, 4};
  return kLen[dr7::len_code(dr7v, n)];
}

// The range a data or I/O breakpoint covers: the address with its low
// bits cleared to the length's alignment (SDM 17.2.5: "the processor
// ignores" the unaligned low-order bits).
struct Range {
  uint64_t lo;
  unsigned len;
};

Range breakpoint_range(const Cpu& cpu, unsigned n) {
  const unsigned len = breakpoint_length(cpu.s.dr[7], n);
  return Range{cpu.s.dr[n] & ~uint64_t(len - 1), len};
}

bool overlaps(const Range& r, uint64_t addr, unsigned size) {
  return addr < r.lo + r.len && r.lo < addr + size;
}

// R/W encodings (SDM 17.2.4).
constexpr unsigned RW_EXEC = 0, RW_WRITE = 1, RW_IO = 2, RW_ACCESS = 3;

bool io_breakpoints_defined(const Cpu& cpu) { return cpu.s.cr4 & cr4::DE; }

bool is_data_breakpoint(const Cpu& cpu, unsigned n) {
  const unsigned rw = dr7::rw(cpu.s.dr[7], n);
  return dr7::enabled(cpu.s.dr[7], n) && (rw == RW_WRITE || rw == RW_ACCESS);
}

// Reports a #DB's conditions in DR6 and clears DR7.GD, as entering the
// debug-exception handler does (SDM 17.2.3, 17.2.4). B0-B3 describe only
// this exception ("certain debug exceptions may clear bits 0-3", and KVM
// clears them on every #DB it injects); BD, BS and BT accumulate: the
// processor never clears them.
void report_in_dr6(Cpu& cpu, uint64_t conditions) {
  // (PENDING_ENABLED_BP is no DR6 condition: emu/debug.h.)
  cpu.s.dr[6] = ((cpu.s.dr[6] & ~dr6::B_MASK) | (conditions & dr6::WRITABLE) | dr6::FIXED1) & 0xffffffffull;
  cpu.s.dr[7] &= ~dr7::GD;
}

}  // namespace

void debug_registers_changed(Cpu& cpu) {
  DebugUnit& d = cpu.dbg;
  const bool was_data = d.data_armed;
  d.insn_armed = d.data_armed = d.io_armed = false;
  for (unsigned n = 0; n < 4; ++n) {
    if (!dr7::enabled(cpu.s.dr[7], n)) continue;
    switch (dr7::rw(cpu.s.dr[7], n)) {
      case RW_EXEC: d.insn_armed = true; break;
      case RW_IO: d.io_armed |= io_breakpoints_defined(cpu); break;
      default: d.data_armed = true; break;
    }
  }
  if (d.host) {
    d.insn_armed |= d.host->has_breakpoints();
    d.data_armed |= d.host->has_watchpoints();
  }
  // Cached translations carry a host pointer only for unwatched pages:
  // whenever the watched set may have changed, drop them all (MOV DR is
  // rare; a flush is simple and exact).
  if (was_data || d.data_armed) cpu.flush_tlb();
}

bool debug_page_watched(const Cpu& cpu, uint64_t lin) {
  if (cpu.dbg.host && cpu.dbg.host->page_watched(lin)) return true;
  const uint64_t page = lin >> 12;
  for (unsigned n = 0; n < 4; ++n) {
    if (!is_data_breakpoint(cpu, n)) continue;
    const Range r = breakpoint_range(cpu, n);
    // An aligned range of at most 8 bytes lies within one page.
    if ((r.lo >> 12) == page) return true;
  }
  return false;
}

void debug_data_access(Cpu& cpu, uint64_t lin, unsigned size, bool write) {
  if (cpu.dbg.host && cpu.dbg.host->data_access(cpu, lin, size, write)) {
    // Stop when the instruction completes (as a data breakpoint's trap
    // follows it, SDM 17.3.1.2); a REP string instruction stops after
    // this iteration. A fault in the instruction takes it back.
    cpu.dbg.host_hit = true;
    cpu.dbg.hit = true;
    cpu.stop = StopReason::Debug;
  }
  for (unsigned n = 0; n < 4; ++n) {
    if (!is_data_breakpoint(cpu, n)) continue;
    if (!write && dr7::rw(cpu.s.dr[7], n) == RW_WRITE) continue;
    if (!overlaps(breakpoint_range(cpu, n), lin, size)) continue;
    cpu.dbg.pending |= uint64_t(1) << n;
    cpu.dbg.hit = true;
  }
}

void debug_io_access(Cpu& cpu, uint16_t port, unsigned size) {
  if (!io_breakpoints_defined(cpu)) return;
  for (unsigned n = 0; n < 4; ++n) {
    if (!dr7::enabled(cpu.s.dr[7], n) || dr7::rw(cpu.s.dr[7], n) != RW_IO) continue;
    if (!overlaps(breakpoint_range(cpu, n), port, size)) continue;
    cpu.dbg.pending |= uint64_t(1) << n;
    cpu.dbg.hit = true;
  }
}

void debug_check_instruction(Cpu& cpu) {
  // The linear address of the instruction's first byte (SDM 17.2.5: an
  // instruction breakpoint address must be that of the first byte).
  // 64-bit mode ignores the CS base; elsewhere linear addresses have 32 bits.
  const uint64_t lin =
      cpu.in_64bit() ? cpu.s.rip : ((cpu.s.seg[CS].base + cpu.s.rip) & 0xffffffffull);
  uint64_t matched = 0;
  for (unsigned n = 0; n < 4; ++n) {
    if (!dr7::enabled(cpu.s.dr[7], n) || dr7::rw(cpu.s.dr[7], n) != RW_EXEC) continue;
    if (cpu.s.dr[n] == lin) matched |= uint64_t(1) << n;
  }
  if (!matched) return;
  // VMX non-root: a #DB the exception bitmap intercepts leaves DR6 alone
  // (its conditions become the exit qualification, vmx/nonroot.h).
  if (cpu.vmx.non_root && vmx::debug_exception_exits(cpu, matched)) cpu.raise(vec::DB);
  report_in_dr6(cpu, matched);
  // A fault: RIP stays on the instruction. The RF pushed is the current
  // one, 0 (SDM 17.3.1.1: instruction-breakpoint #DB is the fault-class
  // exception that does not push RF = 1; the handler sets RF in the image).
  cpu.raise(vec::DB);
}

void debug_deliver_trap(Cpu& cpu) {
  const uint64_t conditions = cpu.dbg.pending;
  cpu.dbg.pending = 0;
  if (cpu.vmx.non_root && vmx::intercept_debug_trap(cpu, conditions)) return;
  report_in_dr6(cpu, conditions);
  if (cpu.tracer) cpu.tracer->exception(cpu, GuestException{vec::DB, NO_ERROR_CODE, 0});
  // A trap: the saved RIP is that of the next instruction, already in RIP.
  cpu.deliver_event(vec::DB, EventType::HardwareException, NO_ERROR_CODE, cpu.s.rip);
}

void debug_general_detect(Cpu& cpu) {
  if (cpu.vmx.non_root && vmx::debug_exception_exits(cpu, dr6::BD)) {
    cpu.s.rflags |= fl::RF;
    cpu.raise(vec::DB);
  }
  report_in_dr6(cpu, dr6::BD);
  // General detect is a fault-class #DB that is not an instruction
  // breakpoint, so the EFLAGS image pushed has RF = 1 (SDM 17.3.1.1);
  // delivery clears RF in EFLAGS again.
  cpu.s.rflags |= fl::RF;
  cpu.raise(vec::DB);
}

void debug_note_control_transfer(Cpu& cpu, uint64_t rflags_before) {
  if (rflags_before & fl::TF) cpu.dbg.tf_after = true;
}

}  // namespace softvt
