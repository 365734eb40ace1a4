// Two-dimensional paging (DESIGN.md "Virtualization"; docs/decisions.md
// "Nested paging hook"): in VMX or SVM guest mode with a second-level
// translation (Intel EPT, AMD NPT), every guest-physical address the CPU
// uses - the guest's own paging-structure accesses, the final access of a
// translated linear address, an unpaged guest's accesses and the PDPTE
// loads of PAE paging - goes through `Cpu::nested_paging` before it reaches
// memory. The MMU calls the hook only where a translation is built (a TLB
// miss), so a TLB hit stays one compare: the TLB caches the combined
// guest-linear -> host-physical translation with the intersection of both
// levels' permissions.
//
// The VMX side (vmx/ept.cpp) and the SVM side (svm/npt.cpp) each implement
// `NestedPaging` with their own walker; a failed translation makes that
// side's VM exit (EPT violation / misconfiguration, #VMEXIT(NPF)) inside
// `translate` and then throws `NestedPagingExit`, which unwinds the access
// and the instruction (nothing of it was committed: handlers commit after
// their last access) to the run loop, which continues in the host. An exit
// during event delivery finds the event in `Cpu::delivering` (IDT-vectoring
// information, EXITINTINFO).
#pragma once
#include <cstdint>

namespace softvt {

class Cpu;
enum class Acc : uint8_t;

// Permissions a second-level translation grants (what the TLB may cache).
namespace nested_perm {
constexpr uint32_t READ = 1, WRITE = 2, EXEC = 4;
constexpr uint32_t ALL = READ | WRITE | EXEC;
}  // namespace nested_perm

// What a guest-physical access is for (the EPT-violation qualification
// bits 7-8, SDM Vol. 3C 28.2.1 Table 28-7; the NPF error code bits 32-33,
// APM 15.25.6).
enum class NestedKind : uint8_t {
  Final,       // the translation of a guest-linear address (or an unpaged access)
  GuestWalk,   // an entry of the guest's paging structures, during a walk of `lin`
  NoLinear,    // no linear address: PDPTE loading by MOV to CR0/CR3/CR4
};

struct NestedAccess {
  Acc acc;           // Read, Write or Exec (GuestWalk: Read, or Write for an A/D update)
  NestedKind kind;
  uint64_t lin = 0;  // the guest-linear address being translated (Final, GuestWalk)
  bool user = false; // the linear access is a user-mode access
};

struct NestedTranslation {
  uint64_t hpa;   // host-physical address of the guest-physical address
  // nested_perm bits the TLB may cache for the page without asking again
  // (a write permission only once the second level recorded the write,
  // e.g. the EPT dirty flag; never more than the access needed when the
  // second level wants to see each access).
  uint32_t perm;
};

class NestedPaging {
 public:
  virtual ~NestedPaging() = default;
  // Translates `gpa` (already A20-masked by the caller where A20M# applies)
  // for `access`. On failure: makes the VM exit and throws NestedPagingExit.
  virtual NestedTranslation translate(Cpu& cpu, uint64_t gpa, const NestedAccess& access) = 0;
  // PAE paging with the second level: whether the CPU uses PDPTE registers
  // loaded when CR3 was loaded (Intel: SDM 4.4.1, 28.3.2.4; `pdpte` gets
  // them) instead of reading the PDPTEs on each walk (AMD).
  virtual bool pdpte_registers(uint64_t pdpte[4]) const { (void)pdpte; return false; }
  // MOV to CR0/CR3/CR4 loaded new PDPTEs (only called when
  // pdpte_registers() is true).
  virtual void set_pdpte_registers(const uint64_t pdpte[4]) { (void)pdpte; }
};

// Thrown after the nested-paging side made its VM exit inside an access;
// caught by the run loop (emu/exec.cpp), which continues with the host.
struct NestedPagingExit {};

}  // namespace softvt
