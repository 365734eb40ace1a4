// VMX non-root operation: the intercept points (vmx/nonroot.h). Exit
// qualifications and instruction information as SDM Vol. 3C 28.2.1 "Basic
// VM-Exit Information" (Tables 28-1 "Exit Qualification for Debug
// Exceptions" .. 28-5 "Exit Qualification for I/O Instructions") and 28.2.5
// "Information for VM Exits Due to Instruction Execution" (Tables 28-8,
// 28-9, 28-13) give them (chapter 29 "VM Exits" in the editions where "VM
// Entries" is chapter 28: tables 29-x there).
#include "vmx/nonroot.h"

#include "decoder/insn.h"
#include "emu/cpu.h"
#include "vmx/apic_virtualization.h"
#include "vmx/capabilities.h"
#include "vmx/controls.h"
#include "vmx/event_exits.h"
#include "vmx/exit.h"
#include "vmx/exit_reasons.h"
#include "vmx/instruction_info.h"
#include "vmx/vmcs_cache.h"
#include "vmx/vmcs_encodings.h"

namespace softvt::vmx {
namespace {

const ActiveControls& ctl(const Cpu& cpu) { return cpu.vmx.controls; }

// VMREAD (dest r/m, source reg) and VMWRITE (dest reg, source r/m): reg1 in
// bits 6:3 for a register r/m operand, bit 10 = register form, reg2 in
// bits 31:28 (the register holding the field encoding). Bits the SDM
// leaves undefined for the form are 0.
void vmread_vmwrite_info(const Insn& in, uint32_t reason, ExitInfo& x) {
  const unsigned rm = reason == exit_reason::VMREAD ? 0 : 1;
  const unsigned r2 = 1 - rm;
  uint32_t v;
  if (operand_is_memory(in, rm)) {
    v = memory_operand_info(in);
    x.qualification = displacement(in);
  } else {
    v = (uint32_t(in.op[rm].reg & 15) << 3) | (1u << 10);  // 9:7 undefined: 0
  }
  x.instruction_info = v | (uint32_t(in.op[r2].reg & 15) << 28);
}

}  // namespace

// ---- unconditional exits -------------------------------------------------------------

void exit_unconditional(Cpu& cpu, const Insn& in, uint32_t reason) { instruction_exit(cpu, reason, 0, in.len); }

void exit_vmx_instruction(Cpu& cpu, const Insn& in, uint32_t reason) {
  ExitInfo x;
  x.reason = reason;
  x.has_instruction_length = true;
  x.instruction_length = in.len;
  switch (reason) {
    case exit_reason::VMREAD:
    case exit_reason::VMWRITE:
      x.has_instruction_info = true;
      vmread_vmwrite_info(in, reason, x);
      break;
    case exit_reason::VMCLEAR:
    case exit_reason::VMPTRLD:
    case exit_reason::VMPTRST:
    case exit_reason::VMXON:
      // Table 28-9: the memory operand; bit 10 cleared.
      x.has_instruction_info = true;
      x.instruction_info = memory_operand_info(in);
      x.qualification = displacement(in);
      break;
    case exit_reason::INVEPT:
    case exit_reason::INVVPID:
      // Table 28-14 (INVEPT, INVPCID, INVVPID): the memory operand, the
      // type register in bits 31:28; qualification = displacement.
      x.has_instruction_info = true;
      x.instruction_info = memory_operand_info(in) | (uint32_t(in.op[0].reg & 15) << 28);
      x.qualification = displacement(in);
      break;
    default: break;  // VMCALL, VMLAUNCH, VMRESUME, VMXOFF: qualification 0
  }
  vm_exit(cpu, x);
}

// ---- processor-based controls ------------------------------------------------------------

bool intercept_hlt(Cpu& cpu, const Insn& in) {
  if (!(ctl(cpu).proc & proc::HLT_EXITING)) return false;
  instruction_exit(cpu, exit_reason::HLT, 0, in.len);
  return true;
}

bool intercept_rdtsc(Cpu& cpu, const Insn& in) {
  if (!(ctl(cpu).proc & proc::RDTSC_EXITING)) return false;
  instruction_exit(cpu, exit_reason::RDTSC, 0, in.len);
  return true;
}

// RDTSCP is #UD unless "enable RDTSCP"; with it, "RDTSC exiting" governs
// it (exit reason 51; SDM 27.1.3, 27.3).
bool intercept_rdtscp(Cpu& cpu, const Insn& in) {
  if (!(ctl(cpu).proc2 & proc2::RDTSCP)) cpu.raise_ud();
  if (!(ctl(cpu).proc & proc::RDTSC_EXITING)) return false;
  instruction_exit(cpu, exit_reason::RDTSCP, 0, in.len);
  return true;
}

// With "use TSC scaling" too, the TSC is first multiplied by the TSC
// multiplier (an unsigned 64 x 64 -> 128-bit product) and shifted right
// 48 bits (SDM 27.3, 25.6.5). The multiplier is read from the current VMCS,
// which no VMWRITE reaches while the guest runs.
uint64_t guest_tsc(const Cpu& cpu, uint64_t tsc) {
  if (!(ctl(cpu).proc & proc::TSC_OFFSETTING)) return tsc;
  if (ctl(cpu).proc2 & proc2::TSC_SCALING) {
    const unsigned __int128 product = (unsigned __int128)tsc * read_field(cpu.vmx, field::TSC_MULTIPLIER);
    tsc = uint64_t(product >> 48);
  }
  return tsc + ctl(cpu).tsc_offset;
}

bool intercept_rdpmc(Cpu& cpu, const Insn& in) {
  if (!(ctl(cpu).proc & proc::RDPMC_EXITING)) return false;
  instruction_exit(cpu, exit_reason::RDPMC, 0, in.len);
  return true;
}

// Exit qualification: the linear-address operand (SDM Table 28-1 note).
bool intercept_invlpg(Cpu& cpu, const Insn& in, uint64_t linear) {
  if (!(ctl(cpu).proc & proc::INVLPG_EXITING)) return false;
  instruction_exit(cpu, exit_reason::INVLPG, linear, in.len);
  return true;
}

bool intercept_wbinvd(Cpu& cpu, const Insn& in) {
  if (!(ctl(cpu).proc2 & proc2::WBINVD_EXITING)) return false;
  instruction_exit(cpu, exit_reason::WBINVD, 0, in.len);
  return true;
}

void check_invpcid_enabled(Cpu& cpu) {
  if (!(ctl(cpu).proc2 & (1u << 12))) cpu.raise_ud();  // "enable INVPCID"
}

// INVPCID exits with "INVLPG exiting" (SDM 27.1.3): instruction
// information of the memory operand plus the type register in bits 31:28,
// qualification = displacement (SDM Table 28-14 layout).
bool intercept_invpcid(Cpu& cpu, const Insn& in) {
  if (!(ctl(cpu).proc & proc::INVLPG_EXITING)) return false;
  ExitInfo x;
  x.reason = exit_reason::INVPCID;
  x.qualification = displacement(in);
  x.has_instruction_length = true;
  x.instruction_length = in.len;
  x.has_instruction_info = true;
  x.instruction_info = memory_operand_info(in) | (uint32_t(in.op[0].reg & 15) << 28);
  vm_exit(cpu, x);
  return true;
}

// Exit qualification for MOV DR (SDM Table 28-4): DR number (2:0),
// direction (bit 4: 0 = MOV to DR, 1 = MOV from DR), register (11:8).
bool intercept_mov_dr(Cpu& cpu, const Insn& in, unsigned dr, bool to_dr) {
  if (!(ctl(cpu).proc & proc::MOV_DR_EXITING)) return false;
  const unsigned gpr = to_dr ? in.op[1].reg : in.op[0].reg;
  instruction_exit(cpu, exit_reason::DR_ACCESS, (dr & 7) | (to_dr ? 0 : 0x10) | ((gpr & 15) << 8), in.len);
  return true;
}

// ---- control registers (SDM Table 28-3) ------------------------------------------------

namespace {

constexpr uint64_t CR_MOV_TO = 0, CR_MOV_FROM = 1, CR_CLTS = 2, CR_LMSW = 3;

void cr_exit(Cpu& cpu, const Insn& in, uint64_t qualification) {
  instruction_exit(cpu, exit_reason::CR_ACCESS, qualification, in.len);
}
uint64_t mov_cr_qualification(unsigned cr, uint64_t type, unsigned gpr) {
  return cr | (type << 4) | (uint64_t(gpr & 15) << 8);
}

// MOV to CR0/CR4 exits when a host-owned bit (mask = 1) of the source
// differs from the read shadow (SDM 27.1.3).
bool masked_bits_differ(uint64_t value, uint64_t mask, uint64_t shadow) { return ((value ^ shadow) & mask) != 0; }

bool cr3_is_target(const ActiveControls& c, uint64_t value) {
  for (uint32_t i = 0; i < c.cr3_target_count && i < 4; ++i)
    if (c.cr3_targets[i] == value) return true;
  return false;
}

}  // namespace

bool intercept_cr_write(Cpu& cpu, const Insn& in, unsigned cr, uint64_t& value) {
  const ActiveControls& c = ctl(cpu);
  const uint64_t q = mov_cr_qualification(cr, CR_MOV_TO, in.op[1].reg);
  bool exits = false;
  switch (cr) {
    case 0:
      exits = masked_bits_differ(value, c.cr0_mask, c.cr0_shadow);
      value = (cpu.s.cr0 & c.cr0_mask) | (value & ~c.cr0_mask);
      break;
    case 4:
      exits = masked_bits_differ(value, c.cr4_mask, c.cr4_shadow);
      value = (cpu.s.cr4 & c.cr4_mask) | (value & ~c.cr4_mask);
      break;
    case 3: exits = (c.proc & proc::CR3_LOAD_EXITING) && !cr3_is_target(c, value); break;
    case 8:
      exits = c.proc & proc::CR8_LOAD_EXITING;
      // "use TPR shadow": the write goes to VTPR (vmx/apic_virtualization.h).
      if (!exits && (c.proc & proc::TPR_SHADOW)) {
        write_virtual_cr8(cpu, value);
        return true;
      }
      break;
    default: break;
  }
  if (exits) cr_exit(cpu, in, q);
  return exits;
}

uint64_t guest_visible_cr0(const Cpu& cpu, uint64_t cr0v) {
  const ActiveControls& c = ctl(cpu);
  return (c.cr0_shadow & c.cr0_mask) | (cr0v & ~c.cr0_mask);
}

bool intercept_cr_read(Cpu& cpu, const Insn& in, unsigned cr, uint64_t& value) {
  const ActiveControls& c = ctl(cpu);
  bool exits = false;
  switch (cr) {
    case 0: value = guest_visible_cr0(cpu, value); break;
    case 4: value = (c.cr4_shadow & c.cr4_mask) | (value & ~c.cr4_mask); break;
    case 3: exits = c.proc & proc::CR3_STORE_EXITING; break;
    case 8:
      exits = c.proc & proc::CR8_STORE_EXITING;
      if (!exits && (c.proc & proc::TPR_SHADOW)) value = virtual_cr8(cpu);  // VTPR[7:4]
      break;
    default: break;
  }
  if (exits) cr_exit(cpu, in, mov_cr_qualification(cr, CR_MOV_FROM, in.op[0].reg));
  return exits;
}

// CLTS exits when CR0.TS is host-owned and 1 in the shadow; host-owned and
// 0 in the shadow: CR0.TS is not modified (SDM 27.1.3, 27.3).
bool intercept_clts(Cpu& cpu, const Insn& in, bool& clear_ts) {
  const ActiveControls& c = ctl(cpu);
  clear_ts = true;
  if (!(c.cr0_mask & cr0::TS)) return false;
  if (c.cr0_shadow & cr0::TS) {
    cr_exit(cpu, in, CR_CLTS << 4);
    return true;
  }
  clear_ts = false;
  return false;
}

// LMSW exits when, for a host-owned bit among CR0.MP/EM/TS, the source
// differs from the shadow, or CR0.PE is host-owned, 0 in the shadow and 1
// in the source (SDM 27.1.3). Qualification: type 3, operand type (bit 6),
// source data (31:16); a memory operand's linear address is recorded.
bool intercept_lmsw(Cpu& cpu, const Insn& in, uint16_t src, bool mem, uint64_t linear, uint64_t& new_cr0) {
  const ActiveControls& c = ctl(cpu);
  const uint64_t low = c.cr0_mask & 0xe;
  const bool pe = (c.cr0_mask & cr0::PE) && !(c.cr0_shadow & cr0::PE) && (src & 1);
  if (((src ^ c.cr0_shadow) & low) || pe) {
    ExitInfo x;
    x.reason = exit_reason::CR_ACCESS;
    x.qualification = (CR_LMSW << 4) | (mem ? 0x40 : 0) | (uint64_t(src) << 16);
    x.has_instruction_length = true;
    x.instruction_length = in.len;
    x.has_guest_linear = mem;
    x.guest_linear = linear;
    vm_exit(cpu, x);
    return true;
  }
  // Host-owned bits keep their value; PE may still only be set.
  const uint64_t keep = c.cr0_mask & 0xf;
  new_cr0 = (new_cr0 & ~keep) | (cpu.s.cr0 & keep);
  return false;
}

// ---- I/O (SDM 27.1.3; Table 28-5) ------------------------------------------------------

namespace {

// A bit of the I/O bitmaps: A covers 0000H-7FFFH, B 8000H-FFFFH.
bool io_bitmap_bit(Cpu& cpu, uint32_t port) {
  const ActiveControls& c = ctl(cpu);
  const uint64_t page = port < 0x8000 ? c.io_bitmap_a : c.io_bitmap_b;
  const uint32_t bit = port & 0x7fff;
  return (cpu.mem.read_phys(page + bit / 8, 1) >> (bit % 8)) & 1;
}

// With the bitmaps, an access exits if any of its ports' bits is set, or
// it wraps past FFFFH.
bool io_exits(Cpu& cpu, uint16_t port, unsigned size) {
  const ActiveControls& c = ctl(cpu);
  if (!(c.proc & proc::IO_BITMAPS)) return c.proc & proc::UNCOND_IO_EXITING;
  for (uint32_t p = port; p < uint32_t(port) + size; ++p)
    if (p > 0xffff || io_bitmap_bit(cpu, p)) return true;
  return false;
}

}  // namespace

bool intercept_io(Cpu& cpu, const Insn& in, const IoAccess& io) {
  if (!io_exits(cpu, io.port, io.size)) return false;
  ExitInfo x;
  x.reason = exit_reason::IO_INSTRUCTION;
  x.qualification = (io.size - 1) | (io.in ? 8 : 0) | (io.string ? 0x10 : 0) | (io.rep ? 0x20 : 0) |
                    (io.immediate ? 0x40 : 0) | (uint64_t(io.port) << 16);
  x.has_instruction_length = true;
  x.instruction_length = in.len;
  if (io.string) {
    x.has_guest_linear = true;
    x.guest_linear = io.linear;
    // INS/OUTS instruction information (IA32_VMX_BASIC[54] = 1, Table
    // 28-8): address size (9:7), segment (17:15; ES for INS).
    x.has_instruction_info = true;
    x.instruction_info = (address_size_code(in.addrsize) << 7) | (uint32_t(io.in ? ES : (in.seg & 7)) << 15);
  }
  vm_exit(cpu, x);
  return true;
}

// ---- MSRs (SDM 25.6.9 "MSR-Bitmap Address", 27.1.3) ------------------------------------

namespace {

// Read bitmap for low MSRs at 0, high MSRs (C0000000H-C0001FFFH) at 1024;
// write bitmaps at 2048 and 3072. MSRs outside both ranges always exit.
bool msr_exits(Cpu& cpu, uint32_t index, bool write) {
  const ActiveControls& c = ctl(cpu);
  if (!(c.proc & proc::MSR_BITMAPS)) return true;
  uint64_t offset;
  if (index <= 0x1fff) offset = 0;
  else if (index >= 0xc0000000 && index <= 0xc0001fff) offset = 1024;
  else return true;
  if (write) offset += 2048;
  const uint32_t bit = index & 0x1fff;
  return (cpu.mem.read_phys(c.msr_bitmap + offset + bit / 8, 1) >> (bit % 8)) & 1;
}

}  // namespace

bool intercept_msr(Cpu& cpu, const Insn& in, uint32_t index, bool write) {
  if (!msr_exits(cpu, index, write)) return false;
  instruction_exit(cpu, write ? exit_reason::WRMSR : exit_reason::RDMSR, 0, in.len);
  return true;
}

// ---- exceptions (SDM 27.2 "Other Causes of VM Exits": exceptions) -----------------------

namespace {

// #PF: with bit 14 set, it exits iff (error & mask) = match; with bit 14
// clear, iff they differ. Other vectors: their bit.
bool exception_exits(const ActiveControls& c, uint8_t vector, uint32_t error) {
  const bool bit = (c.exception_bitmap >> vector) & 1;
  if (vector != vec::PF) return bit;
  const bool match = (error & c.pf_mask) == c.pf_match;
  return match ? bit : !bit;
}

}  // namespace

namespace {

// Fault-class exceptions (SDM 6.15 classes; 17.3.1.1: their delivery pushes
// RF = 1). #DB is left out (its faults and traps push the current RF).
bool fault_class(uint8_t v) {
  switch (v) {
    case vec::DE: case vec::BR: case vec::UD: case vec::NM: case vec::TS: case vec::NP:
    case vec::SS: case vec::GP: case vec::PF: case vec::MF: case vec::AC: case vec::XM:
    case vec::VE: case vec::CP: return true;
    default: return false;
  }
}

// The exit of an exception of `type` (3 hardware, 5 privileged software,
// 6 software exception), with the IDT-vectoring information `idt` of an
// event whose delivery caused it (0: none).
void exception_exit(Cpu& cpu, const GuestException& e, unsigned type, uint32_t idt, uint32_t idt_error,
                    unsigned length) {
  ExitInfo x;
  x.reason = exit_reason::EXCEPTION_NMI;
  x.interruption_info = e.vector | (type << 8) | intr_info::VALID;
  if (e.error_code != NO_ERROR_CODE) {
    x.interruption_info |= intr_info::DELIVER_ERROR_CODE;
    x.interruption_error = e.error_code;
  }
  // The qualification of a #PF is its linear address; CR2 is not written
  // (SDM 27.2); that of a #DB its conditions (Table 28-1), DR6 not written.
  if (e.vector == vec::PF) x.qualification = e.cr2;
  if (e.vector == vec::DB && type == 3) x.qualification = cpu.vmx.events.db_qualification;
  // A fault of an IRET that unblocked NMIs (SDM 28.2.3).
  if (!idt) x.interruption_info |= nmi_unblocking_bit(cpu);
  x.idt_vectoring_info = idt;
  x.idt_vectoring_error = idt_error;
  x.saved_rf = type == 3 && fault_class(e.vector);
  // Software exceptions record their instruction length (SDM 28.2.5).
  x.has_instruction_length = length != 0;
  x.instruction_length = length;
  vm_exit(cpu, x);
}

}  // namespace

bool intercept_exception(Cpu& cpu, const GuestException& e) {
  if (!exception_exits(ctl(cpu), e.vector, e.error_code)) {
    cpu.vmx.events.iret_unblocked_nmi = false;  // delivered in the guest
    return false;
  }
  exception_exit(cpu, e, 3, 0, 0, 0);
  return true;
}

bool intercept_software_exception(Cpu& cpu, uint8_t vector, unsigned type, unsigned length) {
  if (!exception_exits(ctl(cpu), vector, NO_ERROR_CODE)) return false;
  exception_exit(cpu, GuestException{vector, NO_ERROR_CODE, 0}, type, 0, 0, length);
  return true;
}

bool intercept_exception_in_delivery(Cpu& cpu, const GuestException& e, uint8_t vector, unsigned type,
                                     uint32_t error) {
  if (!exception_exits(ctl(cpu), e.vector, e.error_code)) return false;
  uint32_t idt = vector | (type << 8) | intr_info::VALID;
  if (error != NO_ERROR_CODE) idt |= intr_info::DELIVER_ERROR_CODE;
  exception_exit(cpu, e, 3, idt, error == NO_ERROR_CODE ? 0 : error, 0);
  return true;
}

// ---- #DB (SDM 27.2; Table 28-1: B3-B0 in 3:0, BD 13, BS 14) ---------------------------

namespace {
constexpr uint64_t DB_QUALIFICATION_BITS = 0xf | (1u << 13) | (1u << 14);
}

bool debug_exception_exits(Cpu& cpu, uint64_t conditions) {
  if (!(ctl(cpu).exception_bitmap & (1u << vec::DB))) return false;
  cpu.vmx.events.db_qualification = conditions & DB_QUALIFICATION_BITS;
  return true;
}

// A debug trap exits between instructions: RIP is the next instruction's,
// the pending-debug-exceptions field 0 (the trap is what is reported).
bool intercept_debug_trap(Cpu& cpu, uint64_t conditions) {
  if (!debug_exception_exits(cpu, conditions)) return false;
  ExitInfo x;
  x.reason = exit_reason::EXCEPTION_NMI;
  x.qualification = cpu.vmx.events.db_qualification;
  x.interruption_info = vec::DB | (3u << intr_info::TYPE_SHIFT) | intr_info::VALID;
  x.at_boundary = true;
  vm_exit(cpu, x);
  return true;
}

void triple_fault_exit(Cpu& cpu) {
  ExitInfo x;
  x.reason = exit_reason::TRIPLE_FAULT;
  vm_exit(cpu, x);
}

}  // namespace softvt::vmx
