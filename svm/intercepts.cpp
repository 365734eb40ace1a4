// The instruction intercepts of SVM guest mode (svm/intercepts.h): APM
// Vol. 2 15.8 - 15.14, the intercept vectors of Table B-1 and the exit
// codes of Appendix C. Each #VMEXIT of an instruction saves NRIP, the
// address of the next instruction (APM 15.7.1, "NRIP save").
#include "svm/intercepts.h"

#include "emu/cpu.h"
#include "svm/controls.h"
#include "svm/vmcb.h"
#include "svm/vmexit.h"

namespace softvt::svm {
namespace {

const GuestControls& ctl(const Cpu& cpu) { return cpu.svm.ctl; }

// An instruction #VMEXIT: RIP = the instruction, NRIP = the next one.
bool instruction_exit(Cpu& cpu, uint64_t code, uint64_t info1 = 0, uint64_t info2 = 0) {
  ExitInfo x;
  x.code = code;
  x.info1 = info1;
  x.info2 = info2;
  x.nrip = cpu.next_rip;
  x.in_handler = true;
  vmexit(cpu, x);
  return true;
}

struct OneBit {
  bool misc2;   // intercept vector 4 (010h) rather than 3 (00Ch)
  uint32_t bit;
  uint64_t code;
};

// Table B-1 bit and Appendix C exit code of each Intercept, in enum order.
constexpr OneBit kOneBit[] = {
    {false, misc1::RDTSC, exit_code::RDTSC}, {false, misc1::RDPMC, exit_code::RDPMC},
    {false, misc1::PUSHF, exit_code::PUSHF}, {false, misc1::POPF, exit_code::POPF},
    {false, misc1::CPUID, exit_code::CPUID}, {false, misc1::RSM, exit_code::RSM},
    {false, misc1::IRET, exit_code::IRET}, {false, misc1::INVD, exit_code::INVD},
    {false, misc1::HLT, exit_code::HLT}, {false, misc1::INVLPGA, exit_code::INVLPGA},
    {false, misc1::IDTR_READ, exit_code::IDTR_READ}, {false, misc1::GDTR_READ, exit_code::GDTR_READ},
    {false, misc1::LDTR_READ, exit_code::LDTR_READ}, {false, misc1::TR_READ, exit_code::TR_READ},
    {false, misc1::IDTR_WRITE, exit_code::IDTR_WRITE}, {false, misc1::GDTR_WRITE, exit_code::GDTR_WRITE},
    {false, misc1::LDTR_WRITE, exit_code::LDTR_WRITE}, {false, misc1::TR_WRITE, exit_code::TR_WRITE},
    {true, misc2::VMRUN, exit_code::VMRUN}, {true, misc2::VMMCALL, exit_code::VMMCALL},
    {true, misc2::VMLOAD, exit_code::VMLOAD}, {true, misc2::VMSAVE, exit_code::VMSAVE},
    {true, misc2::STGI, exit_code::STGI}, {true, misc2::CLGI, exit_code::CLGI},
    {true, misc2::SKINIT, exit_code::SKINIT}, {true, misc2::RDTSCP, exit_code::RDTSCP},
    {true, misc2::ICEBP, exit_code::ICEBP}, {true, misc2::WBINVD, exit_code::WBINVD},
    {true, misc2::MONITOR, exit_code::MONITOR}, {true, misc2::XSETBV, exit_code::XSETBV},
};
static_assert(sizeof(kOneBit) / sizeof(kOneBit[0]) == unsigned(Intercept::Xsetbv) + 1);

constexpr uint64_t CR0_SELECTIVE_IGNORED = cr0::TS | cr0::MP;

// ---- the permission maps ------------------------------------------------------------

// APM 15.10.1: one bit per port; an access of n bytes checks the bits of
// the n ports it touches (the 12-Kbyte map covers accesses that run past
// port FFFFh).
bool io_port_intercepted(Cpu& cpu, uint16_t port, unsigned size) {
  const uint64_t base = ctl(cpu).iopm_base_pa & ~uint64_t(0xfff);
  for (unsigned i = 0; i < size; ++i) {
    const uint32_t p = uint32_t(port) + i;
    if ((cpu.mem.read_phys(base + p / 8, 1) >> (p % 8)) & 1) return true;
  }
  return false;
}

// APM 15.11 "MSR Intercepts", Table 15-5: two bits per MSR (read, then
// write) in three 2-Kbyte vectors; an MSR outside them is always intercepted.
bool msr_intercepted(Cpu& cpu, uint32_t index, bool write) {
  uint64_t vector;
  if (index <= 0x1fff) vector = 0x000;
  else if (index >= 0xc0000000 && index <= 0xc0001fff) vector = 0x800;
  else if (index >= 0xc0010000 && index <= 0xc0011fff) vector = 0x1000;
  else return true;
  const uint64_t bit = uint64_t(index & 0x1fff) * 2 + (write ? 1 : 0);
  const uint64_t base = ctl(cpu).msrpm_base_pa & ~uint64_t(0xfff);
  return (cpu.mem.read_phys(base + vector + bit / 8, 1) >> (bit % 8)) & 1;
}

uint64_t ioio_exitinfo1(const IoAccess& io) {
  uint64_t v = uint64_t(io.port) << ioio::PORT_SHIFT;
  if (io.in) v |= ioio::TYPE_IN;
  if (io.string) v |= ioio::STR | (uint64_t(io.seg & 7) << ioio::SEG_SHIFT);
  if (io.rep) v |= ioio::REP;
  v |= uint64_t(io.size == 1 ? 1 : io.size == 2 ? 2 : 4) << ioio::SZ_SHIFT;
  v |= uint64_t(io.addrsize == 2 ? 1 : io.addrsize == 4 ? 2 : 4) << ioio::A_SHIFT;
  return v;
}

}  // namespace

bool intercept_instruction(Cpu& cpu, Intercept which) {
  const OneBit& b = kOneBit[unsigned(which)];
  const uint32_t word = b.misc2 ? ctl(cpu).misc2 : ctl(cpu).misc1;
  if (!(word & b.bit)) return false;
  return instruction_exit(cpu, b.code);
}

bool intercept_intn(Cpu& cpu, uint8_t vector) {
  if (!(ctl(cpu).misc1 & misc1::INTN)) return false;
  return instruction_exit(cpu, exit_code::SWINT, vector);  // EXITINFO1 = the vector (APM "Decode Assists")
}

bool intercept_invlpg(Cpu& cpu, uint64_t linear) {
  if (!(ctl(cpu).misc1 & misc1::INVLPG)) return false;
  return instruction_exit(cpu, exit_code::INVLPG, linear);  // EXITINFO1 = the linear address (APM "Decode Assists")
}

// APM 15.14.4 "Pause Intercept Filtering": with a filter count of 0 every
// PAUSE exits; otherwise the internal count (loaded at VMRUN) lets that
// many PAUSEs pass and the next one exits. With a threshold, a PAUSE more
// than `threshold` TSC ticks after the previous one reloads the count
// first (softvt's cycles are its deterministic TSC ticks).
bool intercept_pause(Cpu& cpu) {
  SvmState& st = cpu.svm;
  if (!(st.ctl.misc1 & misc1::PAUSE)) return false;
  if (st.ctl.pause_filter_count != 0) {
    const uint64_t now = cpu.tsc();
    if (st.ctl.pause_filter_threshold != 0 && now - st.last_pause_tsc > st.ctl.pause_filter_threshold)
      st.pause_count = st.ctl.pause_filter_count;
    st.last_pause_tsc = now;
    if (st.pause_count != 0) {
      --st.pause_count;
      return false;
    }
  }
  return instruction_exit(cpu, exit_code::PAUSE);
}

bool intercept_mwait(Cpu& cpu, bool monitor_armed) {
  if (ctl(cpu).misc2 & misc2::MWAIT) return instruction_exit(cpu, exit_code::MWAIT);
  if ((ctl(cpu).misc2 & misc2::MWAIT_ARMED) && monitor_armed)
    return instruction_exit(cpu, exit_code::MWAIT_CONDITIONAL);
  return false;
}

// ---- control and debug registers (APM 15.9) ----------------------------------------

bool intercept_cr_read(Cpu& cpu, unsigned cr, int gpr) {
  if (!((ctl(cpu).intercept_cr >> cr) & 1)) return false;
  return instruction_exit(cpu, exit_code::CR0_READ + cr, gpr >= 0 ? (EXITINFO1_MOV | unsigned(gpr & 15)) : 0);
}

bool intercept_cr_write(Cpu& cpu, unsigned cr, int gpr, uint64_t value) {
  const uint64_t info1 = gpr >= 0 ? (EXITINFO1_MOV | unsigned(gpr & 15)) : 0;
  if ((ctl(cpu).intercept_cr >> (16 + cr)) & 1) return instruction_exit(cpu, exit_code::CR0_WRITE + cr, info1);
  // The CR0 write intercept has priority over the selective one (APM 15.9.1).
  if (cr == 0 && (ctl(cpu).misc1 & misc1::CR0_SEL_WRITE) &&
      ((value ^ cpu.s.cr0) & ~(CR0_SELECTIVE_IGNORED | cr0::ET)))
    return instruction_exit(cpu, exit_code::CR0_SEL_WRITE, info1);
  return false;
}

bool intercept_lmsw(Cpu& cpu, uint64_t value) {
  if ((ctl(cpu).intercept_cr >> 16) & 1) return instruction_exit(cpu, exit_code::CR0_WRITE);
  if ((ctl(cpu).misc1 & misc1::CR0_SEL_WRITE) && ((value ^ cpu.s.cr0) & 0xf & ~CR0_SELECTIVE_IGNORED))
    return instruction_exit(cpu, exit_code::CR0_SEL_WRITE);
  return false;
}

// CLTS writes CR0 but changes only TS: never a selective-write exit.
bool intercept_clts(Cpu& cpu) {
  if (!((ctl(cpu).intercept_cr >> 16) & 1)) return false;
  return instruction_exit(cpu, exit_code::CR0_WRITE);
}

bool virtual_cr8_read(Cpu& cpu, uint64_t& value) {
  if (!(ctl(cpu).vintr & vintr::V_INTR_MASKING)) return false;
  value = ctl(cpu).vintr & 0xf;
  return true;
}

bool virtual_cr8_write(Cpu& cpu, uint64_t value) {
  if (!(ctl(cpu).vintr & vintr::V_INTR_MASKING)) return false;
  cpu.svm.ctl.vintr = (cpu.svm.ctl.vintr & ~vintr::V_TPR) | (value & 0xf);
  return true;
}

bool intercept_dr(Cpu& cpu, unsigned dr, bool write, int gpr) {
  if (!((ctl(cpu).intercept_dr >> (dr + (write ? 16 : 0))) & 1)) return false;
  const uint64_t code = (write ? exit_code::DR0_WRITE : exit_code::DR0_READ) + dr;
  return instruction_exit(cpu, code, EXITINFO1_MOV | unsigned(gpr & 15));
}

// ---- I/O and MSRs ---------------------------------------------------------------------

// EXITINFO2 = the next RIP (APM 15.10.2), as NRIP.
bool intercept_io(Cpu& cpu, const IoAccess& io) {
  if (!(ctl(cpu).misc1 & misc1::IOIO_PROT) || !io_port_intercepted(cpu, io.port, io.size)) return false;
  return instruction_exit(cpu, exit_code::IOIO, ioio_exitinfo1(io), cpu.next_rip);
}

bool intercept_msr(Cpu& cpu, uint32_t index, bool write) {
  if (!(ctl(cpu).misc1 & misc1::MSR_PROT) || !msr_intercepted(cpu, index, write)) return false;
  return instruction_exit(cpu, exit_code::MSR, write ? 1 : 0);
}

uint64_t guest_tsc(const Cpu& cpu, uint64_t tsc) {
  const unsigned __int128 scaled = (unsigned __int128)tsc * cpu.svm.tsc_ratio;
  return uint64_t(scaled >> 32) + ctl(cpu).tsc_offset;
}

bool intercept_task_switch(Cpu& cpu, uint16_t selector, bool iret, bool jmp, bool has_error, uint32_t error,
                           bool by_instruction) {
  if (!(ctl(cpu).misc1 & misc1::TASK_SWITCH)) return false;
  uint64_t info2 = 0;
  if (iret) info2 |= task_switch_info::IRET;
  if (jmp) info2 |= task_switch_info::JMP;
  if (has_error) info2 |= task_switch_info::HAS_ERROR_CODE | error;
  ExitInfo x;
  x.code = exit_code::TASK_SWITCH;
  x.info1 = selector;
  x.info2 = info2;
  x.nrip = by_instruction ? cpu.next_rip : 0;
  x.in_handler = by_instruction;
  // Through a task gate of the IDT: the event being delivered is
  // EXITINTINFO (APM 15.7.2; Linux's nested SVM reads it there to tell a
  // task switch by an event from one by CALL/JMP/IRET).
  if (!by_instruction) note_event_in_delivery(cpu);
  vmexit(cpu, x);
  return true;
}

// APM 15.14.2 (intercept vector 3, bit 30) and Appendix C (07Eh): the
// freeze of an x87 instruction on a pending unmasked exception with CR0.NE
// = 0 (the MS-DOS compatibility mode of emu/fpu/x87_state.cpp) becomes
// #VMEXIT(FERR_FREEZE). It is not an instruction intercept: EXITINFO1 =
// EXITINFO2 = 0, no NRIP; the guest's RIP is the x87 instruction, which
// did not execute (the freeze happens before it).
bool intercept_ferr_freeze(Cpu& cpu) {
  if (!(ctl(cpu).misc1 & misc1::FERR_FREEZE)) return false;
  ExitInfo x;
  x.code = exit_code::FERR_FREEZE;
  vmexit(cpu, x);
  return true;
}

}  // namespace softvt::svm
