// One CPU: the architectural state plus what executes it (software TLB,
// memory access paths with segmentation and paging, fault raising, the run
// loop). Handlers in emu/interp/ receive a Cpu&.
#pragma once
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>

#include "emu/cpu_model.h"
#include "emu/cpu_state.h"
#include "emu/debug.h"
#include "emu/insn_sequence.h"
#include "emu/memory.h"
#include "svm/svm_state.h"
#include "vmx/vmx_state.h"

namespace softvt {

class BlockCache;
class NestedPaging;
struct Insn;

// Exception vectors (SDM Vol. 3A Table 6-1).
namespace vec {
constexpr uint8_t DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8;
constexpr uint8_t TS = 10, NP = 11, SS = 12, GP = 13, PF = 14, MF = 16, AC = 17, MC = 18;
constexpr uint8_t XM = 19, VE = 20, CP = 21;
}  // namespace vec

constexpr uint32_t NO_ERROR_CODE = 0xffffffffu;

// A guest exception raised while executing an instruction. Thrown by
// Cpu::raise and caught by the run loop, which delivers it.
struct GuestException {
  uint8_t vector;
  uint32_t error_code;  // NO_ERROR_CODE if the vector pushes none
  uint64_t cr2;         // faulting linear address for #PF
};

// Thrown by Cpu::freeze_before_instruction and caught by the run loop: the
// instruction did not execute and the CPU waits at it (not an exception).
struct InstructionFrozen {};

// The kind of event being delivered through the IDT/IVT (SDM 6.4, and the
// VMX interruption types of SDM 24.8.3).
enum class EventType : uint8_t {
  ExternalInterrupt = 0,
  Nmi = 2,
  HardwareException = 3,
  SoftwareInterrupt = 4,   // INT n
  PrivilegedSoftware = 5,  // INT1 (ICEBP)
  SoftwareException = 6,   // INT3, INTO
};

enum class Acc : uint8_t { Read = 0, Write = 1, Exec = 2 };

// Iterations a REP string instruction performs per execution step before
// it yields to the run loop (emu/interp/string.cpp; docs/decisions.md).
constexpr uint64_t REP_ITERATIONS_PER_STEP = 4096;

// Why a run stopped.
// Debug: the host debugger's breakpoint or watchpoint (emu/debug.h).
enum class StopReason : uint8_t { None, Hlt, Shutdown, Limit, Error, Debug };
const char* stop_reason_name(StopReason r);

struct TlbEntry {
  // Linear page address | the entry's space slot in bits 11:0 (slot 0 =
  // an invalid entry): a hit is one compare with Cpu::tlb_key(lin).
  uint64_t tag;
  uint8_t* host;   // host address of the page (RAM), or nullptr (MMIO)
  uint64_t phys;   // physical page address (A20 already applied)
  uint32_t perm;   // tlb_perm bits
  uint32_t space;  // the address space (tlb_space) the translation belongs to
};

// Address-space tags (DESIGN.md "Memory"; docs/decisions.md "TLB tags").
// Each cached translation belongs to one address space, a 32-bit tag; the
// CPU numbers the spaces it has cached translations for with 12-bit slots
// and keeps the current one in the low bits of the lookup key, so a hit
// compares one word. A lookup hits only an entry of the current space's
// slot, or a global entry of the same context, which the slow path adopts
// into the current space (a global translation is used whatever the PCID,
// SDM 4.10.2.4). Dropping a space's non-global entries gives it a fresh
// slot; the entries of the old one can never hit again.
namespace tlb_space {
// Bits 11:0: the PCID (000H while CR4.PCIDE = 0, SDM 4.10.1).
constexpr uint32_t PCID_MASK = 0xfff;
// Bits 31:12: the virtualization context (a VPID or an ASID), 0 outside
// VMX/SVM guest mode; global translations are shared only within one.
constexpr uint32_t CONTEXT_SHIFT = 12;
inline bool same_context(uint32_t a, uint32_t b) { return ((a ^ b) & ~PCID_MASK) == 0; }
// Slot numbers 1..MAX_SLOT live in TlbEntry::tag bits 11:0.
constexpr uint32_t MAX_SLOT = 0xfff;
// Spaces with a slot at a time; one more flushes the TLB and starts over.
constexpr unsigned MAX_SPACES = 64;
}  // namespace tlb_space

namespace tlb_perm {
// Bit (acc + 3*user): what this cached translation allows without a walk.
constexpr uint32_t READ_S = 1, WRITE_S = 2, EXEC_S = 4, READ_U = 8, WRITE_U = 16, EXEC_U = 32;
constexpr uint32_t WRITE = WRITE_S | WRITE_U;
// A page holding decoded code keeps its write permission in these bits
// instead, so writes miss the inline fast path and reach the slow path,
// which checks them against the decoded bytes (no page walk needed).
constexpr uint32_t CODE_SHIFT = 5;
constexpr uint32_t CODE_WRITE = WRITE << CODE_SHIFT;
// Bits 23:16 hold log2 of the size of the page the translation came from,
// so INVLPG can drop every 4-KiB piece of a large page (SDM 4.10.4.1).
constexpr uint32_t PAGE_SHIFT_POS = 16;
// A global translation (G = 1 in the leaf with CR4.PGE = 1; SDM 4.10.2.4).
constexpr uint32_t GLOBAL = 1u << 24;
// The VMX APIC-access page at an offset whose data accesses may be
// virtualized (vmx/apic_virtualization.h): the entry allows no access, so
// each one walks again, and the slow paths hand it to VMX.
constexpr uint32_t APIC_ACCESS = 1u << 25;
}

class Cpu {
 public:
  Cpu(Memory& mem, const CpuModel& model);

  CpuState s{};
  Memory& mem;
  const CpuModel& model;

  // ---- run ---------------------------------------------------------------
  // Executes until HLT, shutdown or `max_insns` retired instructions.
  StopReason run(uint64_t max_insns);
  uint64_t next_rip = 0;     // set before each handler; branches overwrite it
  bool end_block = false;    // a handler changed state the block depends on
  // Set by a REP string instruction that stopped between iterations with
  // iterations left (next_rip = its own address): it did not retire, and
  // the run loop executes it again.
  bool insn_unfinished = false;
  // Set by an instruction handler that switched worlds: VMRUN entering a
  // guest, a guest instruction whose intercept made a #VMEXIT, or
  // VMLAUNCH/VMRESUME past their VMfail checks (entering the guest, or a
  // VM-entry failure exit), or VMXOFF releasing a blocked INIT. The state after it belongs to the other side,
  // so the run loop retires it without applying its TF, RF and
  // interrupt-shadow rules there (APM 15.5.2 "VMRUN and TF/RF Bits in
  // EFLAGS": the host's TF traps after the #VMEXIT - svm/vmexit.cpp makes
  // that trap pending - the guest's after its first instruction; SDM Vol.
  // 3C 28.3.2.3/28.3.2.5: the RFLAGS and interruptibility a VM entry loads
  // are what the guest's first instruction sees, and the entry instruction
  // has no single-step trap: vmx/entry.cpp).
  bool vm_switched = false;
  // Kept across run() calls, so that where a run is cut (an instruction
  // limit, a debugger stop) never changes what follows (docs/decisions.md
  // "SMP under gdb"): whether the next step continues an unfinished REP
  // string instruction (traced when it started; RF = 1 in an event frame
  // taken before it goes on, SDM 17.3.1.1), and the steps that retired
  // nothing over the CPU's life (an event delivered, an exception, a REP
  // iteration with more to go). run() also stops once steps_taken()
  // reaches `step_limit` (the PC's scheduling slices count steps).
  bool resuming_rep = false;
  uint64_t idle_step_total = 0;
  uint64_t step_limit = ~uint64_t(0);
  uint64_t steps_taken() const { return s.insn_count + idle_step_total; }
  StopReason stop = StopReason::None;
  std::string stop_detail;   // human-readable reason for Shutdown/Error
  BlockCache* blocks = nullptr;
  // Observer of executed instructions and events (--trace, --record;
  // traces/README.md). insn() comes before the instruction executes; the
  // event methods default to nothing, so a tracer takes what it needs.
  struct Tracer {
    enum class VmEntryKind : uint8_t { Vmlaunch = 0, Vmresume = 1, Vmrun = 2 };
    enum class VmArch : uint8_t { Vmx = 0, Svm = 1 };
    virtual ~Tracer() = default;
    virtual void insn(const Cpu&, uint64_t rip, uint64_t phys, const uint8_t* bytes, unsigned len) = 0;
    virtual void exception(const Cpu&, const GuestException&) = 0;
    virtual void note(const Cpu&, const std::string&) = 0;
    // An event delivered through the IDT/IVT (Cpu::deliver_event), hardware
    // exceptions included (they were reported by exception() first).
    virtual void interrupt(const Cpu&, uint8_t vector, EventType type) {}
    // A VM entry that reached guest mode (VMLAUNCH/VMRESUME/VMRUN).
    virtual void vm_entry(const Cpu&, VmEntryKind) {}
    // A VM exit: the VMX exit reason (with its flag bits) or the SVM exit code.
    virtual void vm_exit(const Cpu&, VmArch, uint64_t reason, uint64_t qualification) {}
    // A VM entry refused by the consistency check named `check`.
    virtual void vm_entry_failed(const Cpu&, const char* check) {}
    // Port I/O as the device sees it (after the permission checks).
    virtual void io(const Cpu&, uint16_t port, unsigned size, uint64_t value, bool write) {}
    // Guest memory writes (only if wants_writes: every data access then
    // takes the slow path, which reports them; --record-mem).
    virtual void mem_write(const Cpu&, uint64_t lin, unsigned size, uint64_t value) {}
    bool wants_writes = false;  // set before the run
  };
  Tracer* tracer = nullptr;
  bool trace_writes() const { return tracer && tracer->wants_writes; }
  // Where the instruction reported to Tracer::insn stands in the run of
  // its block (emu/insn_sequence.h); kept only while a tracer is set.
  InsnSequence insn_sequence;

  // ---- events at instruction boundaries (emu/events.cpp) -----------------
  // The machine's interrupt controllers drive these lines; the run loop
  // takes a deliverable event between two instructions, in the priority
  // order of SDM 6.9, and wakes a halted CPU for it.
  struct InterruptSource {
    virtual ~InterruptSource() = default;
    // The interrupt-acknowledge cycle: the vector of the highest-priority
    // request (a controller with none left answers its spurious vector).
    virtual uint8_t intr_acknowledge() = 0;
  };
  InterruptSource* intr_source = nullptr;
  // Breakpoints, single-step and the pending debug traps (emu/debug.h).
  DebugUnit dbg;
  bool intr_line = false;    // INTR: a maskable interrupt is requested (level)
  bool nmi_pending = false;  // an NMI was latched (edge) and not yet taken
  // The machine advances guest time while CPUs wait (emu/machine/pc.cpp
  // idles its clock to the next deadline, a halted VMX guest's preemption
  // timer included: vmx::halted_timer_deadline). Without one (the flat
  // runner, a directly driven Cpu) a halted VMX guest whose only waker is
  // the preemption timer moves the TSC to its deadline itself.
  bool machine_keeps_time = false;
  // Whether an event would be taken at this boundary (cheap; inline).
  bool event_deliverable() const {
    if (svm.guest_mode) return svm::guest_event_deliverable(*this);  // APM 15.21
    if (!svm.gif) return false;  // GIF = 0 holds INTR and NMI pending (APM 15.17)
    // A VMX guest in the shutdown state takes only an NMI through its IDT,
    // in wait-for-SIPI nothing (SDM 28.7.2; exits: vmx/event_exits.h).
    if (vmx.non_root && vmx.events.activity > 1 && (vmx.events.activity > 2 || !nmi_pending)) return false;
    if (nmi_pending && !s.nmi_blocked && !(s.interrupt_shadow & shadow::MOV_SS)) return true;
    return intr_line && (s.rflags & fl::IF) && !s.interrupt_shadow;
  }
  // Delivers the highest-priority deliverable event, if any; true if one was.
  bool take_pending_event();

  // ---- x87 error pins (PC-style x87 error reporting, CR0.NE = 0) ----------
  // FERR# (output) and IGNNE# (input) of SDM Vol. 1 8.7.2 and Appendix D:
  // with CR0.NE = 0 a waiting x87 or MMX instruction that finds an unmasked
  // exception pending asserts FERR# and freezes before executing, unless
  // IGNNE# is asserted (emu/fpu/x87_state.cpp). The machine's chipset turns
  // FERR# into IRQ 13 and drives IGNNE# (emu/devices/fpu_error.h); without
  // one (`on_ferr` empty) nothing answers FERR#.
  bool ferr = false;   // FERR# asserted (level, as last driven)
  bool ignne = false;  // IGNNE# asserted by the chipset
  std::function<void(bool asserted)> on_ferr;
  // Stops the current instruction before it does anything and leaves the
  // CPU waiting at it, as HLT waits (s.halted) but with RIP on the
  // instruction itself: an NMI or interrupt taken while it waits returns
  // to it, and it executes again (the x87 freeze of SDM Vol. 1 8.7.2).
  [[noreturn]] void freeze_before_instruction();

  // ---- INIT and SIPI (emu/cpu_init_sipi.cpp) -------------------------------
  // Delivered by the local APIC. INIT loads the state of SDM 9.1.1 Table
  // 9-1 (column "INIT": x87/SSE state, MSRs other than EFER, the TSC and
  // CR0.CD/NW are kept); an application processor (IA32_APIC_BASE.BSP = 0)
  // then waits for a SIPI, the BSP runs from the reset vector FFFF:FFF0.
  // While wait_for_sipi is set the CPU executes nothing and takes no
  // interrupt or NMI (SDM 9.4.4.1): the machine must not run it (it is
  // also marked halted, so a run stops at once).
  bool wait_for_sipi = false;
  // Counts INIT and SIPI deliveries: an engine that keeps the registers
  // elsewhere (emu/accel/kvm_pc.cpp) reloads them from `s` when it moves.
  uint32_t init_sipi_epoch = 0;
  void init_signal();
  // A SIPI with vector V starts a waiting CPU in real mode at V<<12
  // (CS = V<<8, IP = 0; SDM 9.4.4.1, 11.6.1). Ignored (false) otherwise.
  bool startup_signal(uint8_t vector);

  // ---- the platform's MSRs and CR8 (emu/interp/system.cpp) ----------------
  // A machine with a local APIC owns some MSRs (IA32_APIC_BASE, the x2APIC
  // range, TSC_DEADLINE) and CR8 (= TPR[7:4], SDM 10.8.6.1). RDMSR/WRMSR
  // ask `platform` before the core's own MSRs; MOV CR8 goes to it instead
  // of s.cr8. nullptr (the flat runner): the core answers alone.
  struct Platform {
    virtual ~Platform() = default;
    // true if the platform owns `index`; then `ok` = false means #GP(0).
    virtual bool read_msr(uint32_t index, uint64_t& value, bool& ok) = 0;
    virtual bool write_msr(uint32_t index, uint64_t value, bool& ok) = 0;
    // The core wrote one of its own MSRs (IA32_TSC moves the TSC-deadline).
    virtual void msr_written(uint32_t index) = 0;
    virtual uint64_t read_cr8() = 0;
    virtual void write_cr8(uint64_t value) = 0;  // value already checked (bits 63:4 zero)
  };
  Platform* platform = nullptr;
  // The initial APIC ID CPUID.01H:EBX[31:24] reports (SDM Vol. 2 CPUID).
  uint8_t initial_apic_id = 0;

  // ---- VMX (vmx/vmx_state.h): VMX operation, VMXON and current-VMCS
  // pointers, the cached current VMCS.
  vmx::VmxState vmx;

  // ---- SVM (svm/svm_state.h): GIF, VM_CR, VM_HSAVE_PA, TSC_RATIO.
  svm::SvmState svm;

  // ---- port I/O (IN/OUT/INS/OUTS after their permission checks) ---------
  // Unclaimed ports read as all ones; writes to them are dropped.
  std::function<uint64_t(uint16_t port, unsigned size)> io_read;
  std::function<void(uint16_t port, unsigned size, uint64_t value)> io_write;
  // What IN/INS/OUT/OUTS call: the callbacks above, reported to the tracer.
  uint64_t port_read(uint16_t port, unsigned size) {
    const uint64_t v = io_read ? io_read(port, size) : ~uint64_t(0) >> (64 - 8 * size);
    if (tracer) tracer->io(*this, port, size, v, false);
    return v;
  }
  void port_write(uint16_t port, unsigned size, uint64_t value) {
    if (tracer) tracer->io(*this, port, size, value, true);
    if (io_write) io_write(port, size, value);
  }

  // ---- mode --------------------------------------------------------------
  // Recomputes s.mode, s.cpl-derived sizes after CR0/EFER/CS/RFLAGS.VM change.
  void update_mode();
  bool long_mode() const { return s.efer & efer::LMA; }
  bool in_64bit() const { return s.mode == Mode::Long64; }
  bool protected_mode() const { return s.cr0 & cr0::PE; }

  // ---- registers ---------------------------------------------------------
  uint64_t get_reg(uint8_t r, unsigned size) const;
  void set_reg(uint8_t r, unsigned size, uint64_t v);
  uint64_t flag(uint64_t bit) const { return (s.rflags & bit) ? 1 : 0; }
  void set_flag(uint64_t bit, bool v) { s.rflags = v ? (s.rflags | bit) : (s.rflags & ~bit); }

  // ---- exceptions --------------------------------------------------------
  [[noreturn]] void raise(uint8_t vector, uint32_t error_code = NO_ERROR_CODE);
  [[noreturn]] void raise_pf(uint64_t lin, uint32_t error_code);
  [[noreturn]] void raise_gp0() { raise(vec::GP, 0); }
  [[noreturn]] void raise_ud() { raise(vec::UD); }
  // Delivers an event through the IVT/IDT (emu/interrupts.cpp), handling
  // double fault and triple fault (shutdown). `next` is the return address
  // pushed for software interrupts and traps.
  void deliver_event(uint8_t vector, EventType type, uint32_t error_code, uint64_t next);
  void shutdown(const std::string& why);

  // ---- memory ------------------------------------------------------------
  // Segmentation: offset -> linear address, with the limit, type and
  // canonical checks of SDM 5.3 / 3.4.5 (raises #GP(0) or #SS(0)).
  uint64_t linear(uint8_t seg, uint64_t offset, unsigned size, Acc acc);
  // Paging: linear -> physical for an access by CPL (or a supervisor-mode
  // implicit access such as a descriptor-table read), filling the TLB.
  const TlbEntry& translate(uint64_t lin, Acc acc, bool user);

  // ---- TLB tags and invalidation (emu/tlb.cpp; SDM 4.10.4.1) -------------
  // The current address space: derived from CR4.PCIDE and CR3[11:0].
  uint32_t tlb_space() const { return tlb_space_; }
  // What a current-space entry for `lin` holds in TlbEntry::tag.
  uint64_t tlb_key(uint64_t lin) const { return (lin & ~uint64_t(0xfff)) | tlb_slot_; }
  // Re-derives it after CR3 or CR4 changed (or the state was loaded).
  void refresh_tlb_space();
  // The space of `pcid` in the current virtualization context (INVPCID).
  uint32_t tlb_space_of_pcid(uint32_t pcid) const {
    return (tlb_space_ & ~tlb_space::PCID_MASK) | (pcid & tlb_space::PCID_MASK);
  }
  // Every entry of every space, global ones included; re-derives the space.
  void flush_tlb();
  // The non-global entries of one space (MOV CR3, INVPCID type 1): the
  // space gets a fresh slot, so this costs no scan of the TLB.
  void flush_tlb_space(uint32_t space);
  // The entries of every PCID of the current context, with or without the
  // global ones (INVPCID types 2 and 3).
  void flush_tlb_context(bool include_global);
  // INVLPG: the entries of the current space for the page holding `lin`,
  // and the global ones for it in any PCID.
  void flush_tlb_page(uint64_t lin);
  // INVPCID type 0: the non-global entries of `space` for that page.
  void flush_tlb_page_in_space(uint64_t lin, uint32_t space);
  // Switches the virtualization context (tlb_space bits 31:12) of the
  // current space: 0 outside guest mode, the VPID and EPT-root tag of VMX
  // (VM entry and exit, VMFUNC: vmx/vpid.cpp), the ASID of an SVM guest
  // (svm/). The PCID bits stay; cached translations of other contexts stay.
  void set_tlb_context(uint32_t context);
  // Drops every valid entry that satisfies `pred(const TlbEntry&)`
  // (INVEPT, INVVPID: vmx/vpid.cpp decides by the fields of e.space).
  template <class Pred>
  void flush_tlb_if(Pred pred) { drop_tlb_entries(pred); }
  // Whether `e` caches a translation of the page holding `lin` (any 4-KiB
  // piece of a larger page).
  static bool tlb_entry_maps_page(const TlbEntry& e, uint64_t lin);
  // Moves the write permission of cached translations of physical page
  // `phys_page` out of (code = true) or back into the fast path.
  void set_tlb_code_page(uint64_t phys_page, bool code);

  uint64_t read_lin(uint64_t lin, unsigned size, Acc acc, bool user);
  void write_lin(uint64_t lin, unsigned size, uint64_t value, bool user);
  // Checks that a write of `size` bytes at `lin` would succeed (used before
  // read-modify-write and multi-part stores so faults come before effects).
  void probe_write_lin(uint64_t lin, unsigned size, bool user);

  bool user_access() const { return s.cpl == 3; }
  uint64_t read(uint8_t seg, uint64_t off, unsigned size) {
    return read_lin(linear(seg, off, size, Acc::Read), size, Acc::Read, user_access());
  }
  void write(uint8_t seg, uint64_t off, unsigned size, uint64_t v) {
    write_lin(linear(seg, off, size, Acc::Write), size, v, user_access());
  }
  // Read for a read-modify-write: faults as a write (SDM: the access is a
  // write for the purposes of the #PF error code).
  uint64_t read_rmw(uint8_t seg, uint64_t off, unsigned size) {
    uint64_t lin = linear(seg, off, size, Acc::Write);
    probe_write_lin(lin, size, user_access());
    return read_lin(lin, size, Acc::Read, user_access());
  }
  // Supervisor ("implicit") accesses: descriptor tables, TSS, IDT. SMAP
  // blocks them from user pages whatever EFLAGS.AC and CPL (SDM 4.6).
  uint64_t read_sys(uint64_t lin, unsigned size) {
    ImplicitAccess scope(*this);
    return read_lin(lin, size, Acc::Read, false);
  }
  void write_sys(uint64_t lin, unsigned size, uint64_t v) {
    ImplicitAccess scope(*this);
    write_lin(lin, size, v, false);
  }
  bool implicit_access = false;  // inside read_sys/write_sys
  struct ImplicitAccess {
    explicit ImplicitAccess(Cpu& c) : cpu(c), saved(c.implicit_access) { c.implicit_access = true; }
    ~ImplicitAccess() { cpu.implicit_access = saved; }
    Cpu& cpu;
    bool saved;
  };

  // ---- stack -------------------------------------------------------------
  uint64_t sp_mask() const;
  // Push/pop with the current stack-address size; RSP changes only after the
  // access succeeded.
  void push(uint64_t value, unsigned size);
  uint64_t pop(unsigned size);
  uint64_t read_stack(uint64_t offset_from_sp, unsigned size);

  // ---- segments (emu/segments.cpp) ----------------------------------------
  // Loads a segment register from a selector with the checks of MOV/POP
  // Sreg (SDM Vol. 2 MOV, Vol. 3A 5.5-5.8) or as real mode / V86 does.
  void load_segment(uint8_t seg, uint16_t selector);
  // Loads CS for a far transfer after the caller checked the descriptor.
  void load_cs_from_descriptor(uint16_t selector, uint64_t descriptor, uint8_t new_cpl);
  // Reads the 8-byte descriptor for `selector` from the GDT/LDT; raises
  // `fault_vector`(selector & ~3) if it lies outside the table limit.
  uint64_t read_descriptor(uint16_t selector, uint8_t fault_vector);
  void set_descriptor_accessed(uint16_t selector, uint64_t descriptor);
  static SegReg segment_from_descriptor(uint16_t selector, uint64_t descriptor);
  void load_real_segment(uint8_t seg, uint16_t selector);

  // Deterministic time: TSC derives from the retired-instruction count.
  uint64_t tsc() const { return s.insn_count + s.tsc_offset; }

  // ---- A20M# (emu/tlb.cpp) ------------------------------------------------
  // With A20 masked, bit 20 of every physical address the CPU uses (its
  // accesses through paging or not, page walks, PDPTE loads) is 0. The
  // mask is applied where translations are built, so it costs nothing on
  // a TLB hit; a change flushes the TLB (docs/decisions.md "A20").
  void set_a20(bool enabled);
  bool a20_enabled() const { return a20_mask_ == ~uint64_t(0); }
  uint64_t apply_a20(uint64_t phys) const { return phys & a20_mask_; }

  static constexpr unsigned TLB_SIZE = 1024;
  static constexpr unsigned TLB_LOG_CAP = 96;  // see tlb_log_ below
  TlbEntry tlb[TLB_SIZE]{};

  // ---- two-dimensional paging (emu/nested_paging.h) -----------------------
  // The second-level translation of VMX/SVM guest mode (EPT, NPT), or
  // nullptr: asked only where the TLB is filled, so a hit costs nothing.
  NestedPaging* nested_paging = nullptr;
  // The event Cpu::deliver_event is delivering through the IDT/IVT right
  // now (valid = false outside a delivery): a second-level exit during it
  // reports it as IDT-vectoring information / EXITINTINFO.
  struct EventInDelivery {
    bool valid = false;
    uint8_t vector = 0;
    EventType type = EventType::ExternalInterrupt;
    uint32_t error = NO_ERROR_CODE;
    uint64_t next = 0;  // the return address it pushes
  };
  EventInDelivery delivering;

 private:
  uint32_t tlb_space_ = 0;
  uint32_t tlb_slot_ = 0;  // the current space's slot (tlb_key)
  struct SpaceSlot {
    uint32_t space;
    uint32_t slot;
  };
  SpaceSlot tlb_slots_[tlb_space::MAX_SPACES]{};
  unsigned tlb_slot_count_ = 0;
  uint32_t tlb_next_slot_ = 1;
  SpaceSlot* find_tlb_slot(uint32_t space);
  uint32_t take_tlb_slot();
  void clear_tlb_entries();
  uint64_t a20_mask_ = ~uint64_t(0);
  // The indices of the entries filled since the TLB was last empty, while
  // there are at most TLB_LOG_CAP of them (docs/decisions.md "TLB fill
  // log"): a flush then visits only those instead of all TLB_SIZE entries,
  // which matters for the flushes of every VM entry and exit without VPID
  // (SDM 29.4.3), where few entries are valid. Beyond the cap the log is
  // abandoned (`tlb_log_full_`) and flushes scan the whole TLB.
  uint16_t tlb_log_[TLB_LOG_CAP];
  unsigned tlb_log_count_ = 0;
  bool tlb_log_full_ = false;
  void log_tlb_fill(unsigned index) {
    if (tlb_log_full_) return;
    if (tlb_log_count_ == TLB_LOG_CAP) {
      tlb_log_full_ = true;
      return;
    }
    tlb_log_[tlb_log_count_++] = uint16_t(index);
  }
  // Calls fn(TlbEntry&) for every entry that may be valid.
  template <class Fn>
  void for_each_tlb_entry(Fn fn) {
    if (tlb_log_full_) {
      for (TlbEntry& e : tlb) fn(e);
      return;
    }
    for (unsigned i = 0; i < tlb_log_count_; ++i) fn(tlb[tlb_log_[i]]);
  }
  // Rebuilds the log from the entries still valid after a drop.
  void compact_tlb_log();
  template <class Pred>
  void drop_tlb_entries(Pred pred) {
    for_each_tlb_entry([&pred](TlbEntry& e) {
      if (e.tag && pred(e)) e = TlbEntry{0, nullptr, 0, 0, 0};
    });
    compact_tlb_log();
  }
  const TlbEntry& fill_tlb(uint64_t lin, Acc acc, bool user);
  uint64_t read_lin_slow(uint64_t lin, unsigned size, Acc acc, bool user);
  void write_lin_slow(uint64_t lin, unsigned size, uint64_t value, bool user);
  bool execute_one_event_loop(uint64_t& budget);
  void handle_exception(const GuestException& e);
};

inline uint32_t tlb_need(Acc acc, bool user) { return 1u << (unsigned(acc) + (user ? 3 : 0)); }

inline uint64_t Cpu::read_lin(uint64_t lin, unsigned size, Acc acc, bool user) {
  const TlbEntry& e = tlb[(lin >> 12) & (TLB_SIZE - 1)];
  if (e.tag == tlb_key(lin) && (e.perm & tlb_need(acc, user)) && e.host &&
      (lin & 0xfff) + size <= 0x1000) {
    uint64_t v = 0;
    std::memcpy(&v, e.host + (lin & 0xfff), size);
    return v;
  }
  return read_lin_slow(lin, size, acc, user);
}

inline void Cpu::write_lin(uint64_t lin, unsigned size, uint64_t value, bool user) {
  const TlbEntry& e = tlb[(lin >> 12) & (TLB_SIZE - 1)];
  if (e.tag == tlb_key(lin) && (e.perm & tlb_need(Acc::Write, user)) && e.host &&
      (lin & 0xfff) + size <= 0x1000) {
    std::memcpy(e.host + (lin & 0xfff), &value, size);
    return;
  }
  write_lin_slow(lin, size, value, user);
}

}  // namespace softvt
