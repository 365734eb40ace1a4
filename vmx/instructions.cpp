// The VMX instructions of VMX root operation (SDM Vol. 3C 31 "VMX
// Instruction Reference"): VMXON, VMXOFF, VMCLEAR, VMPTRLD, VMPTRST,
// VMREAD, VMWRITE, VMLAUNCH/VMRESUME (their instruction-level checks, then
// VM entry: vmx/entry.cpp) and VMCALL. Each handler is the SDM's
// "Operation" pseudocode as an explicit ordered sequence of steps, numbered
// so a reader can compare it with the manual line by line. In VMX non-root
// operation the "VM exit" steps exit to the host (vmx/nonroot.cpp).
#include "decoder/insn.h"
#include "emu/cpu.h"
#include "emu/interp/operands.h"
#include "emu/interp/table.h"
#include "vmx/capabilities.h"
#include "vmx/entry.h"
#include "vmx/event_exits.h"
#include "vmx/ept.h"
#include "vmx/exit.h"
#include "vmx/exit_reasons.h"
#include "vmx/nonroot.h"
#include "vmx/shadow_vmcs.h"
#include "vmx/vm_instruction_errors.h"
#include "vmx/vmcs_cache.h"
#include "vmx/vmcs_encodings.h"
#include "vmx/vmcs_fields.h"
#include "vmx/vpid.h"

namespace softvt {
namespace {

using namespace vmx;

constexpr uint32_t VM_INSTRUCTION_ERROR = 0x4400;  // 32-bit read-only field

// ---- conventions (SDM Vol. 3C 31.2 "Conventions") ----------------------------------

void vm_succeed(Cpu& cpu) { cpu.s.rflags &= ~fl::ARITH; }

void vm_fail_invalid(Cpu& cpu) { cpu.s.rflags = (cpu.s.rflags & ~fl::ARITH) | fl::CF; }

void vm_fail_valid(Cpu& cpu, uint32_t error) {
  cpu.s.rflags = (cpu.s.rflags & ~fl::ARITH) | fl::ZF;
  write_field(cpu.vmx, VM_INSTRUCTION_ERROR, error);
}

// VMfail(ErrorNumber): VMfailValid with a current VMCS, VMfailInvalid without.
void vm_fail(Cpu& cpu, uint32_t error) {
  if (cpu.vmx.has_current_vmcs()) vm_fail_valid(cpu, error);
  else vm_fail_invalid(cpu);
}

// The #UD condition common to the VMX instructions: "(CR0.PE = 0) or
// (RFLAGS.VM = 1) or (IA32_EFER.LMA = 1 and CS.L = 0)" - real mode,
// virtual-8086 mode and compatibility mode.
bool unsupported_mode(const Cpu& cpu) {
  return !(cpu.s.cr0 & cr0::PE) || (cpu.s.rflags & fl::VM) ||
         ((cpu.s.efer & efer::LMA) && !(cpu.s.seg[CS].attr & ar::L));
}

// A physical address of a VMX region: 4-KiB aligned and within MAXPHYADDR
// (IA32_VMX_BASIC bit 48 is 0: no 32-bit limit).
bool valid_region_address(const Cpu& cpu, uint64_t addr) {
  return (addr & 0xfff) == 0 && (addr >> cpu.model.phys_addr_bits) == 0;
}

// The 64-bit memory operand (VMXON, VMCLEAR, VMPTRLD, VMPTRST).
uint64_t memory_operand_address(Cpu& cpu, const Insn& in) { return effective_address(cpu, in); }

// VMREAD/VMWRITE operate on 64 bits in 64-bit mode and 32 bits elsewhere,
// whatever CS.D and the prefixes (SDM Vol. 3C 31.3 VMREAD/VMWRITE).
unsigned vm_operand_size(const Cpu& cpu) { return cpu.in_64bit() ? 8 : 4; }

// ---- VMXON (SDM Vol. 3C 31.3 "VMXON - Enter VMX Operation") -----------------------

bool cr0_cr4_supported(const Cpu& cpu) {
  const uint64_t f0 = cr0_fixed0(cpu.model), f1 = cr0_fixed1(cpu.model);
  const uint64_t g0 = cr4_fixed0(cpu.model), g1 = cr4_fixed1(cpu.model);
  return (cpu.s.cr0 & f0) == f0 && !(cpu.s.cr0 & ~f1) && (cpu.s.cr4 & g0) == g0 && !(cpu.s.cr4 & ~g1);
}

void vmxon(Cpu& cpu, const Insn& in) {
  VmxState& v = cpu.vmx;
  // 1. Register operand (the selector's #UD), CR0.PE = 0, CR4.VMXE = 0,
  //    RFLAGS.VM = 1, or IA32_EFER.LMA = 1 and CS.L = 0: #UD.
  if (unsupported_mode(cpu) || !(cpu.s.cr4 & cr4::VMXE)) cpu.raise_ud();
  if (!v.in_vmx_operation) {
    // 2. Not in VMX operation: CPL > 0, A20M (softvt has no A20M# pin),
    //    CR0/CR4 values not supported in VMX operation, IA32_FEATURE_CONTROL
    //    unlocked, or VMX outside SMX disabled in it (softvt has no SMX):
    //    #GP(0).
    const uint64_t fc = cpu.s.feature_control;
    if (cpu.s.cpl > 0 || !cr0_cr4_supported(cpu) || !(fc & feature_control::LOCK) ||
        !(fc & feature_control::VMX_OUTSIDE_SMX))
      cpu.raise_gp0();
    // 3. addr := the 64-bit memory operand (its #GP/#SS/#PF come here).
    const uint64_t addr = cpu.read(in.seg, memory_operand_address(cpu, in), 8);
    // 4. Not 4-KiB aligned or beyond the physical-address width: VMfailInvalid.
    if (!valid_region_address(cpu, addr)) return vm_fail_invalid(cpu);
    // 5. rev[30:0] is not the VMCS revision identifier or rev[31] = 1:
    //    VMfailInvalid.
    const uint32_t rev = uint32_t(cpu.mem.read_phys(addr, 4));
    if ((rev & 0x7fffffff) != vmx_capabilities(cpu.model).revision || (rev >> 31)) return vm_fail_invalid(cpu);
    // 6. Enter VMX operation with no current VMCS; VMsucceed. (INIT
    //    blocking, A20M and address-range monitoring: softvt models none of
    //    them yet.)
    v.in_vmx_operation = true;
    v.vmxon_pointer = addr;
    v.current_vmcs = INVALID_VMCS_POINTER;
    v.current_is_shadow = false;
    return vm_succeed(cpu);
  }
  // 7. In VMX non-root operation: VM exit.
  if (v.non_root) return exit_vmx_instruction(cpu, in, exit_reason::VMXON);
  // 8. CPL > 0: #GP(0).
  if (cpu.s.cpl > 0) cpu.raise_gp0();
  // 9. In VMX root operation: VMfail(VMXON executed in VMX root operation).
  vm_fail(cpu, vm_error::VMXON_IN_VMX_ROOT);
}

// ---- VMXOFF (SDM Vol. 3C 31.3 "VMXOFF - Leave VMX Operation") ---------------------

void vmxoff(Cpu& cpu, const Insn& in) {
  VmxState& v = cpu.vmx;
  // 1. Not in VMX operation, or the unsupported modes: #UD.
  if (!v.in_vmx_operation || unsupported_mode(cpu)) cpu.raise_ud();
  // 2. In VMX non-root operation: VM exit.
  if (v.non_root) return exit_vmx_instruction(cpu, in, exit_reason::VMXOFF);
  // 3. CPL > 0: #GP(0).
  if (cpu.s.cpl > 0) cpu.raise_gp0();
  // 4. Dual-monitor treatment of SMIs and SMM active: never (softvt offers
  //    no SMM monitor: IA32_VMX_BASIC bit 49 = 0).
  // 5. Leave VMX operation; VMsucceed. The cached current VMCS is written
  //    back to its region first, so no data is lost (the SDM leaves it to
  //    software to VMCLEAR before VMXOFF; softvt does not discard it).
  write_back_current(v, cpu.mem);
  v.in_vmx_operation = false;
  v.current_vmcs = INVALID_VMCS_POINTER;
  v.current_is_shadow = false;
  vm_succeed(cpu);
  // An INIT blocked in VMX root operation is no longer blocked.
  release_blocked_init(cpu);
}

// The first steps of VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE, VMLAUNCH
// and VMRESUME: "(not in VMX operation) or (CR0.PE = 0) or (RFLAGS.VM = 1)
// or (IA32_EFER.LMA = 1 and CS.L = 0): #UD; ELSIF in VMX non-root
// operation: VM exit; ELSIF CPL > 0: #GP(0)". False after a VM exit.
bool root_operation_checks(Cpu& cpu, const Insn& in, uint32_t exit_reason) {
  if (!cpu.vmx.in_vmx_operation || unsupported_mode(cpu)) cpu.raise_ud();
  if (cpu.vmx.non_root) {
    exit_vmx_instruction(cpu, in, exit_reason);
    return false;
  }
  if (cpu.s.cpl > 0) cpu.raise_gp0();
  return true;
}

// ---- VMCLEAR (SDM Vol. 3C 31.3 "VMCLEAR - Clear Virtual-Machine Control Structure")

void vmclear(Cpu& cpu, const Insn& in) {
  // 1-3. #UD / VM exit / #GP(0) (root_operation_checks).
  if (!root_operation_checks(cpu, in, exit_reason::VMCLEAR)) return;
  // 4. addr := the 64-bit memory operand.
  const uint64_t addr = cpu.read(in.seg, memory_operand_address(cpu, in), 8);
  // 5. Not 4-KiB aligned or beyond the physical-address width:
  //    VMfail(VMCLEAR with invalid physical address).
  if (!valid_region_address(cpu, addr)) return vm_fail(cpu, vm_error::VMCLEAR_INVALID_ADDRESS);
  // 6. addr = VMXON pointer: VMfail(VMCLEAR with VMXON pointer).
  if (addr == cpu.vmx.vmxon_pointer) return vm_fail(cpu, vm_error::VMCLEAR_VMXON_POINTER);
  // 7. The VMCS's data to memory, its launch state "clear"; if it was
  //    current, no current VMCS. VMsucceed.
  clear_vmcs(cpu.vmx, cpu.mem, addr);
  vm_succeed(cpu);
}

// ---- VMPTRLD (SDM Vol. 3C 31.3 "VMPTRLD - Load Pointer to Virtual-Machine Control Structure")

bool vmcs_shadowing_supported(const Cpu& cpu) {
  return (vmx_capabilities(cpu.model).secondary_allowed1() >> proc2_bit::SHADOW_VMCS) & 1;
}

void vmptrld(Cpu& cpu, const Insn& in) {
  // 1-3. #UD / VM exit / #GP(0).
  if (!root_operation_checks(cpu, in, exit_reason::VMPTRLD)) return;
  // 4. addr := the 64-bit memory operand.
  const uint64_t addr = cpu.read(in.seg, memory_operand_address(cpu, in), 8);
  // 5. Not 4-KiB aligned or beyond the physical-address width:
  //    VMfail(VMPTRLD with invalid physical address).
  if (!valid_region_address(cpu, addr)) return vm_fail(cpu, vm_error::VMPTRLD_INVALID_ADDRESS);
  // 6. addr = VMXON pointer: VMfail(VMPTRLD with VMXON pointer).
  if (addr == cpu.vmx.vmxon_pointer) return vm_fail(cpu, vm_error::VMPTRLD_VMXON_POINTER);
  // 7. rev[30:0] is not the revision identifier, or rev[31] = 1 (a shadow
  //    VMCS, SDM 25.10) and "VMCS shadowing" is not 1-settable:
  //    VMfail(VMPTRLD with incorrect VMCS revision identifier).
  const uint32_t rev = uint32_t(cpu.mem.read_phys(addr, 4));
  const bool shadow = rev >> 31;
  if ((rev & 0x7fffffff) != vmx_capabilities(cpu.model).revision || (shadow && !vmcs_shadowing_supported(cpu)))
    return vm_fail(cpu, vm_error::VMPTRLD_INCORRECT_REVISION);
  // 8. current-VMCS pointer := addr (the cache is switched); VMsucceed.
  make_current(cpu.vmx, cpu.mem, addr, shadow);
  vm_succeed(cpu);
}

// ---- VMPTRST (SDM Vol. 3C 31.3 "VMPTRST - Store Pointer to Virtual-Machine Control Structure")

void vmptrst(Cpu& cpu, const Insn& in) {
  // 1-3. #UD / VM exit / #GP(0).
  if (!root_operation_checks(cpu, in, exit_reason::VMPTRST)) return;
  // 4. The 64-bit memory destination := current-VMCS pointer; VMsucceed.
  cpu.write(in.seg, memory_operand_address(cpu, in), 8, cpu.vmx.current_vmcs);
  vm_succeed(cpu);
}

// ---- VMREAD / VMWRITE (SDM Vol. 3C 31.3, and 25.11.2 "VMREAD, VMWRITE,
// and Encodings of VMCS Fields" for widths and the "high" access) --------------

// The field an encoding names on this model; nullptr if it does not exist
// (not in the table, or its feature's control is not 1-settable).
const VmcsField* supported_field(const Cpu& cpu, uint64_t encoding, bool& high) {
  const VmcsField* f = find_vmcs_field(encoding, high);
  return f && field_exists(vmx_capabilities(cpu.model), *f) ? f : nullptr;
}

// The VMCS a VMREAD/VMWRITE accesses: the current VMCS in VMX root
// operation, the shadow VMCS the link pointer references in VMX non-root
// operation (SDM 25.10; vmx/shadow_vmcs.h).
uint64_t full_field(Cpu& cpu, const VmcsField& f) {
  return cpu.vmx.non_root ? read_shadow_field(cpu, f) : read_field(cpu.vmx, f);
}
void store_field(Cpu& cpu, const VmcsField& f, uint64_t value) {
  if (cpu.vmx.non_root) write_shadow_field(cpu, f, value);
  else write_field(cpu.vmx, f, value);
}

// The value VMREAD returns for an access to `f` with an operand of `size`
// bytes (SDM 25.11.2): the high access gives bits 63:32; a 32-bit access
// to a 64-bit or natural-width field gives bits 31:0.
uint64_t field_value_for_read(Cpu& cpu, const VmcsField& f, bool high, unsigned size) {
  const uint64_t full = full_field(cpu, f);
  if (high) return full >> 32;
  return size == 8 ? full : full & 0xffffffff;
}

// The field's new value after a VMWRITE of `value` (SDM 25.11.2): the high
// access writes bits 63:32 from bits 31:0 of the source; a 32-bit full
// access to a 64-bit or natural-width field writes bits 31:0 and clears
// bits 63:32; a narrower field takes the low bits.
uint64_t field_value_for_write(Cpu& cpu, const VmcsField& f, bool high, unsigned size, uint64_t value) {
  if (high) return (full_field(cpu, f) & 0xffffffff) | ((value & 0xffffffff) << 32);
  return size == 8 ? value : value & 0xffffffff;
}

// Steps 1-4 of VMREAD and VMWRITE with VMCS shadowing (SDM Vol. 3C 31.3):
// "(not in VMX operation) or the unsupported modes: #UD; ELSIF in VMX
// non-root operation AND ("VMCS shadowing" is 0 OR the encoding sets bits
// 63:15 OR its VMREAD/VMWRITE bit is 1): VM exit; ELSIF CPL > 0: #GP(0);
// ELSIF (in VMX root operation AND current-VMCS pointer is not valid) OR
// (in VMX non-root operation AND VMCS link pointer is not valid):
// VMfailInvalid". False when the instruction ended (exit or VMfailInvalid).
bool vmread_vmwrite_checks(Cpu& cpu, const Insn& in, uint64_t encoding, bool write) {
  if (!cpu.vmx.in_vmx_operation || unsupported_mode(cpu)) cpu.raise_ud();
  if (cpu.vmx.non_root && !shadowed_access(cpu, encoding, write)) {
    exit_vmx_instruction(cpu, in, write ? exit_reason::VMWRITE : exit_reason::VMREAD);
    return false;
  }
  if (cpu.s.cpl > 0) cpu.raise_gp0();
  const bool valid = cpu.vmx.non_root ? shadow_vmcs_valid(cpu) : cpu.vmx.has_current_vmcs();
  if (!valid) {
    vm_fail_invalid(cpu);
    return false;
  }
  return true;
}

// VMfailValid writes the error into the current VMCS, in non-root
// operation too (the one controlling the guest: SDM 31.2 "VMfailValid
// ... there is a current VMCS"); the host reads it after the next exit.
void vmread(Cpu& cpu, const Insn& in) {
  const unsigned size = vm_operand_size(cpu);
  const uint64_t encoding = cpu.get_reg(in.op[1].reg, size);
  // 1-4. #UD / VM exit unless shadowed / #GP(0) / VMfailInvalid.
  if (!vmread_vmwrite_checks(cpu, in, encoding, false)) return;
  // 5. The source operand names no VMCS field of this processor (in 64-bit
  //    mode bits 63:32 must be 0 too): VMfail(unsupported VMCS component).
  bool high = false;
  const VmcsField* f = supported_field(cpu, encoding, high);
  if (!f) return vm_fail(cpu, vm_error::UNSUPPORTED_VMCS_COMPONENT);
  // 6. Destination := the field of the current (root) or shadow (non-root)
  //    VMCS (a memory destination may fault here, before anything is
  //    committed); VMsucceed.
  const uint64_t value = field_value_for_read(cpu, *f, high, size);
  if (is_mem(in, 0)) cpu.write(in.seg, effective_address(cpu, in), size, value);
  else cpu.set_reg(in.op[0].reg, size, value);
  vm_succeed(cpu);
}

void vmwrite(Cpu& cpu, const Insn& in) {
  const unsigned size = vm_operand_size(cpu);
  const uint64_t encoding = cpu.get_reg(in.op[0].reg, size);
  // 1-4. #UD / VM exit unless shadowed / #GP(0) / VMfailInvalid.
  if (!vmread_vmwrite_checks(cpu, in, encoding, true)) return;
  // 5. The primary source (register or memory): faults of a memory source
  //    come after the VMCS-pointer check and before the field checks (SDM
  //    VMWRITE "Description").
  const uint64_t value = is_mem(in, 1) ? cpu.read(in.seg, effective_address(cpu, in), size)
                                       : cpu.get_reg(in.op[1].reg, size);
  // 6. The secondary source names no VMCS field of this processor:
  //    VMfail(unsupported VMCS component).
  bool high = false;
  const VmcsField* f = supported_field(cpu, encoding, high);
  if (!f) return vm_fail(cpu, vm_error::UNSUPPORTED_VMCS_COMPONENT);
  // 7. A VM-exit information field, and IA32_VMX_MISC bit 29 = 0:
  //    VMfail(VMWRITE to read-only VMCS component) - for the shadow VMCS too.
  const bool exit_info_writable = (vmx_capabilities(cpu.model).misc >> misc_bit::VMWRITE_EXIT_INFO) & 1;
  if (f->read_only() && !exit_info_writable) return vm_fail(cpu, vm_error::VMWRITE_READ_ONLY_COMPONENT);
  // 8. The field of the current (root) or shadow (non-root) VMCS := the
  //    source; VMsucceed.
  store_field(cpu, *f, field_value_for_write(cpu, *f, high, size, value));
  vm_succeed(cpu);
}

// ---- VMLAUNCH / VMRESUME (SDM Vol. 3C 31.3 "VMLAUNCH/VMRESUME - Launch/Resume
// Virtual Machine"; 27.1 "Basic VM-Entry Checks") ------------------------------------

template <bool LAUNCH>
void vm_entry_instruction(Cpu& cpu, const Insn& in) {
  VmxState& v = cpu.vmx;
  // 1-3. #UD / VM exit / #GP(0).
  if (!root_operation_checks(cpu, in, LAUNCH ? exit_reason::VMLAUNCH : exit_reason::VMRESUME)) return;
  // 4. No current VMCS, or the current VMCS is a shadow VMCS (SDM 25.10:
  //    a shadow VMCS cannot be used for VM entry): VMfailInvalid.
  if (!v.has_current_vmcs() || v.current_is_shadow) return vm_fail_invalid(cpu);
  // 5. Events blocked by MOV SS: VMfailValid(VM entry with events blocked
  //    by MOV SS).
  if (cpu.s.interrupt_shadow & shadow::MOV_SS) return vm_fail_valid(cpu, vm_error::ENTRY_EVENTS_BLOCKED_BY_MOV_SS);
  // 6. VMLAUNCH with a launch state other than "clear":
  //    VMfailValid(VMLAUNCH with non-clear VMCS).
  if (LAUNCH && launch_state(v) != LaunchState::Clear) return vm_fail_valid(cpu, vm_error::VMLAUNCH_NONCLEAR_VMCS);
  // 7. VMRESUME with a launch state other than "launched":
  //    VMfailValid(VMRESUME with non-launched VMCS).
  if (!LAUNCH && launch_state(v) != LaunchState::Launched)
    return vm_fail_valid(cpu, vm_error::VMRESUME_NONLAUNCHED_VMCS);
  // 8. The checks on the VMX controls and the host-state area, then the
  //    guest state, then VM entry (vmx/entry.cpp).
  vm_entry(cpu, LAUNCH);
}

// ---- VMCALL (SDM Vol. 3C 31.3 "VMCALL - Call to VM Monitor") -----------------------

void vmcall(Cpu& cpu, const Insn& in) {
  VmxState& v = cpu.vmx;
  // 1. Not in VMX operation: #UD.
  if (!v.in_vmx_operation) cpu.raise_ud();
  // 2. In VMX non-root operation: VM exit.
  if (v.non_root) return exit_vmx_instruction(cpu, in, exit_reason::VMCALL);
  // 3. RFLAGS.VM = 1 or IA32_EFER.LMA = 1 and CS.L = 0: #UD (CR0.PE is
  //    fixed to 1 in VMX operation).
  if (unsupported_mode(cpu)) cpu.raise_ud();
  // 4. CPL > 0: #GP(0).
  if (cpu.s.cpl > 0) cpu.raise_gp0();
  // 5. Dual-monitor treatment is never active and IA32_SMM_MONITOR_CTL[0]
  //    is 0 (no SMM monitor): VMfail(VMCALL executed in VMX root operation).
  vm_fail(cpu, vm_error::VMCALL_IN_VMX_ROOT);
}

// ---- INVEPT / INVVPID (SDM Vol. 3C 31.3 "INVEPT - Invalidate Translations
// Derived from EPT", "INVVPID - Invalidate Translations Based on VPID") --------

bool cap_bit(const Cpu& cpu, unsigned bit) { return (vmx_capabilities(cpu.model).ept_vpid >> bit) & 1; }
bool proc2_offered(const Cpu& cpu, unsigned bit) {
  return (vmx_capabilities(cpu.model).secondary_allowed1() >> bit) & 1;
}

// The 128-bit descriptor (its #GP/#SS/#PF come here).
struct Descriptor {
  uint64_t lo, hi;
};
Descriptor read_descriptor128(Cpu& cpu, const Insn& in) {
  const uint64_t off = effective_address(cpu, in);
  cpu.linear(in.seg, off, 16, Acc::Read);  // the limit / canonical checks cover all 16 bytes
  const uint64_t mask = in.addrsize == 8 ? ~uint64_t(0) : in.addrsize == 4 ? 0xffffffffull : 0xffffull;
  const uint64_t lo = cpu.read(in.seg, off, 8);
  const uint64_t hi = cpu.read(in.seg, (off + 8) & mask, 8);
  return Descriptor{lo, hi};
}

void invept(Cpu& cpu, const Insn& in) {
  // 1. Not in VMX operation, the unsupported modes, or no EPT / no INVEPT
  //    on this processor (IA32_VMX_PROCBASED_CTLS2[33], EPT_VPID_CAP[20]):
  //    #UD ("Exceptions").
  if (!cpu.vmx.in_vmx_operation || unsupported_mode(cpu) || !proc2_offered(cpu, proc2_bit::EPT) ||
      !cap_bit(cpu, ept_cap::INVEPT))
    cpu.raise_ud();
  // 2. In VMX non-root operation: VM exit.
  if (cpu.vmx.non_root) return exit_vmx_instruction(cpu, in, exit_reason::INVEPT);
  // 3. CPL > 0: #GP(0).
  if (cpu.s.cpl > 0) cpu.raise_gp0();
  // 4. INVEPT_TYPE := the register operand (64 bits in 64-bit mode, else
  //    32); a type IA32_VMX_EPT_VPID_CAP does not report (bit 25 single-
  //    context, 26 all-context): VMfail(invalid operand to INVEPT/INVVPID).
  const uint64_t type = cpu.get_reg(in.op[0].reg, vm_operand_size(cpu));
  const bool supported = (type == 1 && cap_bit(cpu, ept_cap::INVEPT_SINGLE)) ||
                         (type == 2 && cap_bit(cpu, ept_cap::INVEPT_ALL));
  if (!supported) return vm_fail(cpu, vm_error::INVALID_INVEPT_INVVPID_OPERAND);
  // 5. INVEPT_DESC := the memory operand; EPTP := bits 63:0.
  const Descriptor d = read_descriptor128(cpu, in);
  if (type == 1) {
    // 6. Single-context: an EPTP VM entry would refuse is
    //    VMfail(invalid operand); else the mappings of EPTP[51:12] go.
    if (!eptp_valid(d.lo, vmx_capabilities(cpu.model).ept_vpid, cpu.model.phys_addr_bits))
      return vm_fail(cpu, vm_error::INVALID_INVEPT_INVVPID_OPERAND);
    invalidate_ept_single(cpu, d.lo);
  } else {
    // 7. Global: the mappings of every EPTP.
    invalidate_ept_all(cpu);
  }
  vm_succeed(cpu);
}

bool canonical_for_model(const Cpu& cpu, uint64_t a) {
  const unsigned bits = cpu.model.lin_addr_bits;
  return uint64_t(int64_t(a << (64 - bits)) >> (64 - bits)) == a;
}

void invvpid(Cpu& cpu, const Insn& in) {
  // 1. Not in VMX operation, the unsupported modes, or no VPID / no
  //    INVVPID (IA32_VMX_PROCBASED_CTLS2[37], EPT_VPID_CAP[32]): #UD.
  if (!cpu.vmx.in_vmx_operation || unsupported_mode(cpu) || !proc2_offered(cpu, proc2_bit::VPID) ||
      !cap_bit(cpu, ept_cap::INVVPID))
    cpu.raise_ud();
  // 2. In VMX non-root operation: VM exit.
  if (cpu.vmx.non_root) return exit_vmx_instruction(cpu, in, exit_reason::INVVPID);
  // 3. CPL > 0: #GP(0).
  if (cpu.s.cpl > 0) cpu.raise_gp0();
  // 4. INVVPID_TYPE := the register operand; a type EPT_VPID_CAP bits
  //    40-43 do not report: VMfail(invalid operand to INVEPT/INVVPID).
  const uint64_t type = cpu.get_reg(in.op[0].reg, vm_operand_size(cpu));
  if (type > 3 || !cap_bit(cpu, ept_cap::INVVPID_ADDR + unsigned(type)))
    return vm_fail(cpu, vm_error::INVALID_INVEPT_INVVPID_OPERAND);
  // 5. INVVPID_DESC := the memory operand; bits 63:16 not 0: VMfail.
  const Descriptor d = read_descriptor128(cpu, in);
  if (d.lo >> 16) return vm_fail(cpu, vm_error::INVALID_INVEPT_INVVPID_OPERAND);
  const uint16_t vpid = uint16_t(d.lo);
  switch (type) {
    case 0:
      // 6. Individual-address: VPID 0 or a non-canonical GL_ADDR
      //    (bits 127:64): VMfail; else that address's mappings for VPID.
      if (vpid == 0 || !canonical_for_model(cpu, d.hi)) return vm_fail(cpu, vm_error::INVALID_INVEPT_INVVPID_OPERAND);
      invalidate_vpid_address(cpu, vpid, d.hi);
      break;
    case 1:
    case 3:
      // 7. Single-context (type 3: retaining global translations): VPID 0
      //    is VMfail; else the VPID's mappings (but the global ones).
      if (vpid == 0) return vm_fail(cpu, vm_error::INVALID_INVEPT_INVVPID_OPERAND);
      invalidate_vpid_single(cpu, vpid, type == 3);
      break;
    default:
      // 8. All-context: the mappings of every VPID but 0000H.
      invalidate_vpid_all(cpu);
      break;
  }
  vm_succeed(cpu);
}

// ---- VMFUNC (SDM Vol. 3C 31.3 "VMFUNC - Invoke VM function", 27.5.6 "VM
// Functions", 27.5.6.3 "EPTP Switching") -------------------------------------------

void vmfunc(Cpu& cpu, const Insn& in) {
  // 1. Outside VMX non-root operation, or "enable VM functions" = 0: #UD.
  if (!cpu.vmx.non_root || !(cpu.vmx.controls.proc2 & (1u << proc2_bit::VMFUNC))) cpu.raise_ud();
  // 2. EAX > 63, or the VM-function control bit EAX is 0: VM exit
  //    (reason 59). The function number is EAX whatever the mode.
  const uint32_t function = uint32_t(cpu.s.gpr[RAX]);
  const uint64_t enabled = read_field(cpu.vmx, field::VM_FUNCTION_CONTROL);
  const auto exit_vmfunc = [&] { instruction_exit(cpu, exit_reason::VMFUNC, 0, in.len); };
  if (function > 63 || !((enabled >> function) & 1)) return exit_vmfunc();
  // 3. Function 0, EPTP switching: ECX >= 512, or the EPTP-list entry ECX
  //    is not an EPTP VM entry would accept: VM exit.
  const uint32_t index = uint32_t(cpu.s.gpr[RCX]);
  if (function != 0 || index >= 512) return exit_vmfunc();
  const uint64_t list = read_field(cpu.vmx, field::EPTP_LIST_ADDRESS);
  const uint64_t eptp = cpu.mem.read_phys(list + 8 * uint64_t(index), 8);
  if (!eptp_valid(eptp, vmx_capabilities(cpu.model).ept_vpid, cpu.model.phys_addr_bits)) return exit_vmfunc();
  // 4. The EPTP field := the new EPTP, which translates from the next
  //    access on (no EPTP-index field: "EPT-violation #VE" is not offered).
  write_field(cpu.vmx, field::EPT_POINTER, eptp);
  switch_eptp(cpu, eptp);
  cpu.end_block = true;
}

// ---- rows ----------------------------------------------------------------------------

// VMXON, VMCLEAR, VMPTRLD and VMPTRST take a memory operand only: a
// register operand is #UD (SDM "IF (register operand) ... THEN #UD").
Handler select_mem_form(const Insn& in, Handler h) { return is_mem(in, 0) ? h : nullptr; }

constexpr uint32_t VMX_FLAGS = uint32_t(fl::ARITH);  // CF PF AF ZF SF OF (31.2)

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_VMXON, [](const Insn& i) { return select_mem_form(i, vmxon); }, VMX_FLAGS, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_VMXOFF, SOFTVT_FIXED(vmxoff), VMX_FLAGS, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_VMCLEAR, [](const Insn& i) { return select_mem_form(i, vmclear); }, VMX_FLAGS, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_VMPTRLD, [](const Insn& i) { return select_mem_form(i, vmptrld); }, VMX_FLAGS, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_VMPTRST, [](const Insn& i) { return select_mem_form(i, vmptrst); }, VMX_FLAGS, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_VMREAD, SOFTVT_FIXED(vmread), VMX_FLAGS, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_VMWRITE, SOFTVT_FIXED(vmwrite), VMX_FLAGS, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_VMLAUNCH, SOFTVT_FIXED(vm_entry_instruction<true>), VMX_FLAGS, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_VMRESUME, SOFTVT_FIXED(vm_entry_instruction<false>), VMX_FLAGS, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_VMCALL, SOFTVT_FIXED(vmcall), VMX_FLAGS, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_INVEPT, [](const Insn& i) { return is_mem(i, 1) ? invept : nullptr; }, VMX_FLAGS, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_INVVPID, [](const Insn& i) { return is_mem(i, 1) ? invvpid : nullptr; }, VMX_FLAGS, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_VMFUNC, SOFTVT_FIXED(vmfunc), 0, 0, Feature::Base, 1},
};

}  // namespace

std::span<const InsnRow> rows_vmx() { return kRows; }

}  // namespace softvt
