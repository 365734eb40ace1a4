// The TPR shadow and the APIC-access page (vmx/apic_virtualization.h).
// Section numbers: SDM Vol. 3C in the editions where "VM Entries" is
// chapter 28, "VM Exits" 29 and "APIC Virtualization and Virtual
// Interrupts" 31 (26/27/29 in older ones).
#include "vmx/apic_virtualization.h"

#include <cstdio>
#include <string>

#include "emu/cpu.h"
#include "emu/nested_paging.h"
#include "vmx/controls.h"
#include "vmx/event_exits.h"
#include "vmx/exit.h"
#include "vmx/exit_reasons.h"
#include "vmx/vmcs_cache.h"
#include "vmx/vmcs_encodings.h"

namespace softvt::vmx {
namespace {

const ActiveControls& ctl(const Cpu& cpu) { return cpu.vmx.controls; }
uint64_t rd(const Cpu& cpu, uint32_t enc) { return read_field(cpu.vmx, enc); }

// VTPR: byte 80H of the virtual-APIC page, a physical address (SDM 31.1.1).
uint8_t vtpr(const Cpu& cpu) { return uint8_t(cpu.mem.read_phys(ctl(cpu).virtual_apic_page + VTPR_OFFSET, 1)); }

// VTPR[7:4] below TPR threshold[3:0] (SDM 31.1.2, 28.7.7).
bool vtpr_below_threshold(const Cpu& cpu) { return (vtpr(cpu) >> 4) < (ctl(cpu).tpr_threshold & 0xf); }

// A TPR-below-threshold exit due at the next instruction boundary
// (vmx/event_exits.cpp takes it there, before INIT and SIPI).
void make_tpr_exit_pending(Cpu& cpu) {
  cpu.vmx.events.tpr_below_threshold = true;
  cpu.vmx.events.boundary_checks = true;
}

// TPR virtualization without virtual-interrupt delivery (SDM 31.1.2): a
// trap-like TPR-below-threshold exit after the operation that wrote VTPR
// (MOV to CR8 or a virtualized write to offset 80H of the APIC-access
// page) when VTPR[7:4] is below the threshold.
void tpr_virtualization(Cpu& cpu) {
  if (vtpr_below_threshold(cpu)) make_tpr_exit_pending(cpu);
}

// ---- APIC-access VM exits (SDM 31.4, 29.2.1) -------------------------------------------

const char* access_type_name(uint64_t type) {
  switch (type) {
    case apic_access_qual::LINEAR_READ: return "linear read";
    case apic_access_qual::LINEAR_WRITE: return "linear write";
    case apic_access_qual::LINEAR_FETCH: return "linear instruction fetch";
    case apic_access_qual::LINEAR_EVENT_DELIVERY: return "linear access during event delivery";
    case apic_access_qual::GUEST_PHYSICAL_EVENT_DELIVERY: return "guest-physical access during event delivery";
    default: return "guest-physical access";
  }
}

void note_apic_access(Cpu& cpu, uint64_t type, unsigned offset) {
  if (!cpu.tracer) return;
  char off[8];
  std::snprintf(off, sizeof off, "%03xH", offset);
  cpu.tracer->note(cpu, std::string("APIC access: ") + access_type_name(type) + " at offset " + off);
}

// The fault-like APIC-access exit (reason 44): RIP stays on the
// instruction; during the delivery of an event the access type is the
// delivery's (3 linear, 10 guest-physical) and the IDT-vectoring
// information describes the event; otherwise bit 16 reports an IRET of
// this instruction that unblocked NMIs (SDM 29.2.1, 29.3.3). Unwinds the
// access like an EPT exit (emu/nested_paging.h).
[[noreturn]] void apic_access_exit(Cpu& cpu, uint64_t type, unsigned offset, bool guest_physical) {
  ExitInfo x;
  x.reason = exit_reason::APIC_ACCESS;
  if (record_access_exit_context(cpu, x)) {
    type = guest_physical ? apic_access_qual::GUEST_PHYSICAL_EVENT_DELIVERY : apic_access_qual::LINEAR_EVENT_DELIVERY;
  } else if (nmi_unblocking_bit(cpu)) {
    x.qualification |= apic_access_qual::NMI_UNBLOCKING;
  }
  x.qualification |= offset | (type << apic_access_qual::TYPE_SHIFT);
  note_apic_access(cpu, type, offset);
  vm_exit(cpu, x);
  throw NestedPagingExit{};
}

uint64_t linear_type(Acc acc) {
  switch (acc) {
    case Acc::Write: return apic_access_qual::LINEAR_WRITE;
    case Acc::Exec: return apic_access_qual::LINEAR_FETCH;
    default: return apic_access_qual::LINEAR_READ;
  }
}

[[noreturn]] void linear_exit(Cpu& cpu, uint64_t lin, Acc acc) {
  apic_access_exit(cpu, linear_type(acc), unsigned(lin & 0xfff), false);
}

// Whether a data access of `size` bytes at offset 80H is virtualized
// without APIC-register virtualization and virtual-interrupt delivery
// (SDM 31.4.2, 31.4.3.1): at most 32 bits (so within 80H-83H, the low 4
// bytes of its 16-byte region), and not after a write the operation
// already virtualized - for a write, one of another size.
bool vtpr_access(const Cpu& cpu, unsigned size, bool write) {
  const unsigned written = cpu.vmx.events.vtpr_write_size;
  if (size > 4) return false;
  return write ? (written == 0 || written == size) : written == 0;
}

uint64_t vtpr_address(const Cpu& cpu) { return ctl(cpu).virtual_apic_page + VTPR_OFFSET; }

}  // namespace

void load_apic_controls(Cpu& cpu) {
  ActiveControls& c = cpu.vmx.controls;
  const bool tpr_shadow = c.proc & proc::TPR_SHADOW;
  c.virtual_apic_page = tpr_shadow ? rd(cpu, field::VIRTUAL_APIC_PAGE_ADDR) : 0;
  c.tpr_threshold = tpr_shadow ? uint32_t(rd(cpu, field::TPR_THRESHOLD)) : 0;
  c.apic_access_page = (c.proc2 & proc2::VIRT_APIC_ACCESSES) ? rd(cpu, field::APIC_ACCESS_ADDR) : ~uint64_t(0);
}

void arm_tpr_threshold_exit(Cpu& cpu) {
  const ActiveControls& c = ctl(cpu);
  if (!(c.proc & proc::TPR_SHADOW) || !(c.proc2 & proc2::VIRT_APIC_ACCESSES) || (c.proc2 & proc2::VIRT_INTR_DELIVERY))
    return;
  if (vtpr_below_threshold(cpu)) make_tpr_exit_pending(cpu);
}

uint64_t virtual_cr8(const Cpu& cpu) { return vtpr(cpu) >> 4; }

void write_virtual_cr8(Cpu& cpu, uint64_t value) {
  // The reserved-bit fault comes first: only an execution that "does not
  // fault" is virtualized (SDM 31.3; Vol. 2 MOV CR: #GP(0) for CR8[63:4]).
  if (value >> 4) cpu.raise_gp0();
  // VTPR[7:4] := source[3:0], the rest of VTPR (bits 31:8 too) cleared.
  cpu.mem.write_phys(vtpr_address(cpu), 4, (value & 0xf) << 4);
  tpr_virtualization(cpu);
}

void check_apic_access_page(Cpu& cpu, uint64_t lin, Acc acc) {
  // Only a data access at offset 80H with the TPR shadow may be a VTPR
  // access; the slow paths decide with its size (SDM 31.4.2, 31.4.3.1).
  const bool may_be_vtpr = acc != Acc::Exec && (lin & 0xfff) == VTPR_OFFSET && (ctl(cpu).proc & proc::TPR_SHADOW);
  if (!may_be_vtpr) linear_exit(cpu, lin, acc);
}

uint64_t read_apic_access_page(Cpu& cpu, uint64_t lin, unsigned size) {
  if (!vtpr_access(cpu, size, false)) linear_exit(cpu, lin, Acc::Read);
  return cpu.mem.read_phys(vtpr_address(cpu), size);
}

void probe_apic_access_page(Cpu& cpu, uint64_t lin, unsigned size) {
  if (!vtpr_access(cpu, size, true)) linear_exit(cpu, lin, Acc::Write);
}

void write_apic_access_page(Cpu& cpu, uint64_t lin, unsigned size, uint64_t value) {
  if (!vtpr_access(cpu, size, true)) linear_exit(cpu, lin, Acc::Write);
  // The write goes to the virtual-APIC page; APIC-write emulation of
  // offset 80H clears bytes 81H-83H and performs TPR virtualization (SDM
  // 31.4.3.2). Bytes 81H-83H are unobservable before the operation ends
  // (a later access to the page in it exits), so they are cleared now;
  // the exit TPR virtualization may make waits for the boundary.
  cpu.mem.write_phys(vtpr_address(cpu), 4, value & 0xff);
  GuestEvents& ev = cpu.vmx.events;
  ev.vtpr_write_size = uint8_t(size);
  ev.boundary_checks = true;  // the boundary ends the operation (vmx/event_exits.cpp)
  tpr_virtualization(cpu);
}

void check_guest_physical_apic_access(Cpu& cpu, uint64_t hpa) {
  if ((hpa & ~uint64_t(0xfff)) != ctl(cpu).apic_access_page) return;
  // The offset is undefined for a guest-physical access (SDM 29.2.1);
  // softvt reports the access's offset in the page.
  apic_access_exit(cpu, apic_access_qual::GUEST_PHYSICAL_INSTRUCTION, unsigned(hpa & 0xfff), true);
}

}  // namespace softvt::vmx
