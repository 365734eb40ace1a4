// The TPR shadow and the APIC-access page (SDM Vol. 3C "APIC Virtualization
// and Virtual Interrupts", chapter 31 in the editions where "VM Entries" is
// chapter 28; 29 where it is 26): what softvt's intel model offers - "use
// TPR shadow" and "virtualize APIC accesses" - without APIC-register
// virtualization, virtual-interrupt delivery, virtualize x2APIC mode or
// posted interrupts (not offered, so VM entry refuses them).
//
// - VTPR is byte 80H of the virtual-APIC page (31.1.1). MOV from CR8 reads
//   VTPR[7:4]; MOV to CR8 writes VTPR and performs TPR virtualization
//   (31.3, 31.1.2): VTPR[7:4] below the TPR threshold makes a trap-like
//   TPR-below-threshold VM exit (43) after the instruction; so does a VM
//   entry that finds it so (28.7.7 "VM Exits Induced by the TPR
//   Threshold").
// - An access whose physical address (after EPT) lies on the APIC-access
//   page (31.4): a 1-, 2- or 4-byte data read or write at offset 80H is
//   virtualized to the virtual-APIC page (a write then clears bytes
//   81H-83H and performs TPR virtualization, 31.4.3.2); every other linear
//   access - other offsets, larger accesses, instruction fetches, accesses
//   after a virtualized write in the same operation - makes a fault-like
//   APIC-access VM exit (44), as does a guest-physical access (the guest's
//   page walk through EPT, 31.4.6.1). Accesses that are physical (paging
//   structures without EPT, 31.4.6.2) are not intercepted: the SDM leaves
//   that open.
//
// The MMU asks only where it builds a translation: `Cpu::fill_tlb` calls
// `check_apic_access_page` when the page is the APIC-access page, and such
// a translation is never cached with a permission (tlb_perm::APIC_ACCESS),
// so a TLB hit stays one compare and only accesses to that page pay.
#pragma once
#include <cstdint>

namespace softvt {
class Cpu;
enum class Acc : uint8_t;
}  // namespace softvt

namespace softvt::vmx {

// Offset of VTPR on the virtual-APIC page (SDM 31.1.1).
constexpr uint64_t VTPR_OFFSET = 0x80;

// APIC-access exit qualification (SDM Vol. 3C 29.2.1, table "Exit
// Qualification for APIC-Access VM Exits from Linear Accesses and
// Guest-Physical Accesses"): bits 11:0 the offset, 15:12 the access type,
// bit 16 NMI unblocking due to IRET.
namespace apic_access_qual {
constexpr unsigned TYPE_SHIFT = 12;
constexpr uint64_t LINEAR_READ = 0, LINEAR_WRITE = 1, LINEAR_FETCH = 2, LINEAR_EVENT_DELIVERY = 3;
constexpr uint64_t GUEST_PHYSICAL_EVENT_DELIVERY = 10, GUEST_PHYSICAL_INSTRUCTION = 15;
constexpr uint64_t NMI_UNBLOCKING = 1u << 16;
}  // namespace apic_access_qual

// VM entry: copies the APIC-virtualization fields into the active controls.
void load_apic_controls(Cpu& cpu);
// VM entry, after event injection (SDM 28.7.7): with "use TPR shadow" and
// "virtualize APIC accesses" (no virtual-interrupt delivery), a TPR
// threshold above VTPR[7:4] makes a TPR-below-threshold exit due before
// the guest's first instruction.
void arm_tpr_threshold_exit(Cpu& cpu);

// MOV from CR8 with "use TPR shadow": VTPR[7:4] (SDM 31.3).
uint64_t virtual_cr8(const Cpu& cpu);
// MOV to CR8 with "use TPR shadow" (and no CR8-load exiting): #GP(0) for
// bits 63:4, else VTPR := value << 4 and TPR virtualization (SDM 31.3).
void write_virtual_cr8(Cpu& cpu, uint64_t value);

// Cpu::fill_tlb found that `lin` translates to the APIC-access page: makes
// the APIC-access VM exit (throws NestedPagingExit) unless the access may
// be a VTPR access (a data access at offset 80H with the TPR shadow);
// then the translation is cached as tlb_perm::APIC_ACCESS and the slow
// paths below finish it, knowing the size.
void check_apic_access_page(Cpu& cpu, uint64_t lin, Acc acc);
uint64_t read_apic_access_page(Cpu& cpu, uint64_t lin, unsigned size);
void write_apic_access_page(Cpu& cpu, uint64_t lin, unsigned size, uint64_t value);
// A read-modify-write's write check (its APIC-access exit is a write).
void probe_apic_access_page(Cpu& cpu, uint64_t lin, unsigned size);

// EPT translated a guest-physical address of the guest's page walk or a
// PDPTE load (not a linear access) to host-physical `hpa`: on the
// APIC-access page that is an APIC-access exit (SDM 31.4.6.1).
void check_guest_physical_apic_access(Cpu& cpu, uint64_t hpa);

}  // namespace softvt::vmx
