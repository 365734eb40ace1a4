// The PC machine's KVM engine (see kvm_pc.h). API: the Linux kernel's
// Documentation/virt/kvm/api.rst.
#include "emu/accel/kvm_pc.h"

#include <sys/ioctl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <vector>

#include "emu/accel/kvm_state.h"
#include "emu/accel/kvm_step.h"
#include "emu/accel/kvm_syscall_entry.h"
#include "emu/accel/kvm_transfer.h"
#include "emu/accel/kvm_vm.h"
#include "emu/block_cache.h"
#include "emu/devices/lapic.h"
#include "emu/machine/io_bus.h"

namespace softvt {
namespace {

constexpr uint32_t CPUID1_ECX_X2APIC = 1u << 21, CPUID1_ECX_TSC_DEADLINE = 1u << 24;
// Shortest slice worth a KVM_RUN: a deadline closer than this is taken
// as reached after one short run.
constexpr uint64_t MIN_RUN_NS = 20000;

class KvmEngine final : public Pc::Engine {
 public:
  explicit KvmEngine(Pc& pc) : pc_(pc), vcpus_(pc.cpu_count()) {}

  std::string create() {
    std::string e = vm_.create(pc_.cpu_count());
    if (e.empty()) e = vm_.map_ram(pc_.mem());
    for (unsigned i = 0; e.empty() && i < pc_.cpu_count(); ++i) {
      std::vector<kvm_cpuid_entry2> cpuid;
      e = kvm::guest_cpuid_for(vm_, pc_.cpu(i).model, int(pc_.cpu(i).initial_apic_id), cpuid);
      if (e.empty()) e = kvm::set_cpuid(vm_, i, cpuid);
      syscall_watch_.emplace_back(pc_.cpu(i).model);
    }
    return e;
  }

  const char* name() const override { return "kvm"; }

  std::string summary() const override {
    std::string s;
    if (!interpreted_.empty()) {
      uint64_t total = 0;
      std::string list;
      for (const auto& [m, n] : interpreted_) {
        total += n;
        list += (list.empty() ? "" : ", ") + m + " " + std::to_string(n);
      }
      s = std::to_string(total) + " instructions KVM's emulator cannot run were interpreted (" + list + ")";
    }
    uint64_t syscalls = 0;
    for (const kvm::SyscallEntryWatch& w : syscall_watch_) syscalls += w.completed();
    if (syscalls)
      s += (s.empty() ? "" : "; ") + std::to_string(syscalls) +
           " ring-3 SYSCALLs the host KVM left in ring 3 were completed (emu/accel/kvm_syscall_entry.h)";
    return s;
  }

  StopReason run(unsigned i, uint64_t until_ns) override {
    Cpu& c = pc_.cpu(i);
    c.stop = StopReason::None;
    if (!load_if_moved(i)) return StopReason::Error;
    c.s.halted = 0;
    kvm_run* r = vm_.run(i);
    r->immediate_exit = 0;
    const uint64_t now = pc_.clock().now();
    const std::string armed = watchdog_.arm_ns(r, until_ns > now + MIN_RUN_NS ? until_ns - now : MIN_RUN_NS);
    if (!armed.empty()) return error(c, armed);
    const StopReason stop = run_until_stop(c, i, r);
    watchdog_.disarm();
    return stop;
  }

 private:
  StopReason run_until_stop(Cpu& c, unsigned i, kvm_run* r) {
    for (;;) {
      before_entry(i, r);
      const kvm::GuestView view(vm_.vcpu_fd(i), pc_.mem());
      if (std::string e = syscall_watch_[i].before_run(vm_, i, *r, view); !e.empty()) return error(c, e + site(c));
      r->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
      if (ioctl(vm_.vcpu_fd(i), KVM_RUN, 0) < 0) {
        // EINTR: the slice's watchdog (or SIGINT) kicked the vCPU out.
        if (errno == EINTR) return StopReason::Limit;
        return error(c, kvm::sys_error("KVM_RUN") + site(c));
      }
      after_exit(i, r);
      const StopReason stop = on_exit(c, r);
      if (stop != StopReason::None) return stop;
      if (c.stop != StopReason::None) return c.stop;  // a device ended the slice
    }
  }

  struct VcpuState {
    bool loaded = false;
    uint32_t epoch = 0;
  };

  // The vCPU's registers come from the Cpu when it has never run or when
  // INIT/SIPI changed them since (emu/cpu_init_sipi.cpp); KVM holds them
  // otherwise. INIT keeps the x87/SSE state and the MSRs (SDM 9.1.1
  // Table 9-1), so only the first load transfers those.
  bool load_if_moved(unsigned i) {
    Cpu& c = pc_.cpu(i);
    VcpuState& v = vcpus_[i];
    if (v.loaded && v.epoch == c.init_sipi_epoch) return true;
    CpuState s = c.s;
    s.apic_base = pc_.lapic(i).apic_base();
    std::string e = kvm::set_registers(vm_, i, s);
    if (e.empty() && !v.loaded) e = kvm::set_fpu_and_msrs(vm_, i, s);
    if (!e.empty()) {
      error(c, e);
      return false;
    }
    v.loaded = true;
    v.epoch = c.init_sipi_epoch;
    return true;
  }

  // The TPR goes in as CR8 (api.rst: kvm_run.cr8 is "in" without an
  // in-kernel local APIC), then pending events: an NMI through KVM_NMI, an
  // interrupt through KVM_INTERRUPT when KVM says the vCPU can take one
  // now (IF = 1, no interrupt shadow), else a request for an exit when it
  // can (KVM_EXIT_IRQ_WINDOW_OPEN). The vector comes from the local APIC's
  // acknowledge cycle, as the interpreter takes it (emu/events.cpp).
  void before_entry(unsigned i, kvm_run* r) {
    Cpu& c = pc_.cpu(i);
    r->cr8 = pc_.lapic(i).read_cr8();
    if (c.nmi_pending && ioctl(vm_.vcpu_fd(i), KVM_NMI, 0) == 0) c.nmi_pending = false;
    r->request_interrupt_window = 0;
    if (!c.intr_line) return;
    if (r->ready_for_interrupt_injection && r->if_flag && c.intr_source) {
      kvm_interrupt irq{c.intr_source->intr_acknowledge()};
      ioctl(vm_.vcpu_fd(i), KVM_INTERRUPT, &irq);
      if (!c.intr_line) return;
    }
    r->request_interrupt_window = 1;
  }

  // What the machine looks at between slices comes back with every exit:
  // the registers (KVM_CAP_SYNC_REGS), CR8 and the APIC base.
  void after_exit(unsigned i, kvm_run* r) {
    Cpu& c = pc_.cpu(i);
    kvm::from_kvm_regs(r->s.regs.regs, c.s);
    kvm::from_kvm_sregs(r->s.regs.sregs, c.s);
    c.s.interrupt_shadow = 0;
    LocalApic& apic = pc_.lapic(i);
    if (r->cr8 != apic.read_cr8()) apic.write_cr8(r->cr8);
    if (r->apic_base != apic.apic_base()) apic.write_msr(pc_.clock().now(), apic::msr::APIC_BASE, r->apic_base);
  }

  StopReason on_exit(Cpu& c, kvm_run* r) {
    switch (r->exit_reason) {
      case KVM_EXIT_IO: on_io(r); return StopReason::None;
      case KVM_EXIT_MMIO: kvm::serve_mmio(*r, pc_.mem()); return StopReason::None;
      case KVM_EXIT_IRQ_WINDOW_OPEN:
      case KVM_EXIT_INTR:
      case KVM_EXIT_SET_TPR:  // CR8 was written: after_exit took it
        return StopReason::None;
      case KVM_EXIT_DEBUG: {
        const unsigned i = c.initial_apic_id;
        const kvm::GuestView view(vm_.vcpu_fd(i), pc_.mem());
        const std::string e = syscall_watch_[i].on_debug_exit(vm_, i, *r, view);
        return e.empty() ? StopReason::None : error(c, e + site(c));
      }
      case KVM_EXIT_HLT:
        // RIP is past the HLT (SDM Vol. 2 HLT); the machine wakes the CPU
        // when an event is deliverable (its IF is current).
        c.s.halted = 1;
        return StopReason::Hlt;
      case KVM_EXIT_SHUTDOWN:
        c.stop_detail = "triple fault (KVM_EXIT_SHUTDOWN)" + site(c);
        return StopReason::Shutdown;
      case KVM_EXIT_INTERNAL_ERROR:
        if (r->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) return interpret_one(c, r);
        return error(c, internal_error(c, r));
      case KVM_EXIT_FAIL_ENTRY: {
        char b[96];
        std::snprintf(b, sizeof b, "VM entry failed: hardware entry failure reason 0x%llx",
                      (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
        return error(c, b + site(c));
      }
      default: return error(c, "unexpected KVM exit reason " + std::to_string(r->exit_reason) + site(c));
    }
  }

  // Port I/O (also string I/O) goes to the machine's I/O bus, as the
  // interpreter's IN/OUT do.
  void on_io(kvm_run* r) {
    kvm::serve_io(*r, [this](uint16_t port, unsigned size, uint64_t v) { pc_.io().write(port, size, v); },
                  [this](uint16_t port, unsigned size) { return pc_.io().read(port, size); });
  }


  // This host's KVM runs CPL-0 code in its instruction emulator, which
  // lacks some instructions (IRET outside real mode: "iret from protected
  // mode unimplemented yet" in arch/x86/kvm/emulate.c), so every interrupt
  // handler would stop there. Such an instruction is run by the
  // interpreter on the vCPU's state, which then goes back to KVM; each is
  // counted by mnemonic and reported (summary()). On a host whose KVM runs
  // guests on VT-x/AMD-V this does not happen.
  StopReason interpret_one(Cpu& c, kvm_run* r) {
    const unsigned i = c.initial_apic_id;
    kvm_vcpu_events ev{};
    std::vector<uint8_t> xsave;
    std::string e = kvm::get_state(vm_, i, c.s, &xsave);
    if (e.empty() && ioctl(vm_.vcpu_fd(i), KVM_GET_VCPU_EVENTS, &ev) < 0) e = kvm::sys_error("KVM_GET_VCPU_EVENTS");
    if (!e.empty()) return error(c, e);
    c.update_mode();
    const std::string what = mnemonic_at(c, r);
    // The interpreter sees memory KVM changed: no cached translation or
    // decoded block may survive.
    c.flush_tlb();
    if (c.blocks) c.blocks->clear();
    c.s.nmi_blocked = ev.nmi.masked;
    // No event is taken before the instruction (KVM takes them; a MOV SS
    // shadow holds off both INTR and NMI for exactly one instruction).
    c.s.interrupt_shadow = shadow::MOV_SS;
    const StopReason stop = c.run(c.s.insn_count + 1);
    if (stop == StopReason::Shutdown || stop == StopReason::Error) return stop;
    c.stop = StopReason::None;
    e = kvm::set_registers(vm_, i, c.s);
    if (e.empty()) e = kvm::set_fpu_and_msrs(vm_, i, c.s, xsave);
    ev.flags = KVM_VCPUEVENT_VALID_SHADOW;
    ev.nmi.masked = c.s.nmi_blocked;
    ev.interrupt.shadow = uint8_t(c.s.interrupt_shadow ? KVM_X86_SHADOW_INT_MOV_SS : 0);
    if (e.empty() && ioctl(vm_.vcpu_fd(i), KVM_SET_VCPU_EVENTS, &ev) < 0) e = kvm::sys_error("KVM_SET_VCPU_EVENTS");
    if (!e.empty()) return error(c, e);
    ++interpreted_[what];
    if (stop == StopReason::Hlt) c.s.halted = 1;
    return stop == StopReason::Hlt ? StopReason::Hlt : StopReason::None;
  }

  // The mnemonic of the instruction KVM failed on (its own copy of the
  // bytes where it gives one).
  std::string mnemonic_at(const Cpu& c, const kvm_run* r) {
    const auto& ef = r->emulation_failure;
    if (!c.blocks || ef.ndata < 3 || !(ef.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES))
      return "(unknown)";
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    const unsigned n = ef.insn_size < 15 ? ef.insn_size : 15;
    if (!ZYAN_SUCCESS(c.blocks->decoder().decode_raw(ef.insn_bytes, n, decode_mode_of(c), insn, ops)))
      return "(undecodable)";
    return ZydisMnemonicGetString(insn.mnemonic);
  }

  std::string internal_error(const Cpu& c, const kvm_run* r) {
    const auto& in = r->internal;
    std::string d = std::string("KVM internal error: ") + kvm::internal_error_name(in.suberror) + " (suberror " +
                    std::to_string(in.suberror) + ")" + site(c);
    const auto& ef = r->emulation_failure;
    if (in.suberror == KVM_INTERNAL_ERROR_EMULATION && ef.ndata >= 3 &&
        (ef.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
      d += ", bytes";
      char b[8];
      for (unsigned k = 0; k < ef.insn_size && k < 15; ++k) {
        std::snprintf(b, sizeof b, " %02x", ef.insn_bytes[k]);
        d += b;
      }
    }
    return d;
  }

  // " at CS:RIP" of the last exit.
  static std::string site(const Cpu& c) {
    char b[64];
    std::snprintf(b, sizeof b, " at %04x:%llx", c.s.seg[CS].sel, (unsigned long long)c.s.rip);
    return b;
  }

  static StopReason error(Cpu& c, const std::string& detail) {
    c.stop_detail = detail;
    return StopReason::Error;
  }

  Pc& pc_;
  kvm::Vm vm_;
  kvm::Watchdog watchdog_;  // one timer for every slice (kvm_vm.h)
  std::vector<VcpuState> vcpus_;
  std::vector<kvm::SyscallEntryWatch> syscall_watch_;  // one per vCPU
  std::map<std::string, uint64_t> interpreted_;
};

}  // namespace

CpuModel kvm_machine_model(const CpuModel& model) {
  CpuModel m = model;
  if (CpuidLeaf* l = m.find_leaf(1, 0)) l->ecx &= ~(CPUID1_ECX_X2APIC | CPUID1_ECX_TSC_DEADLINE);
  return m;
}

std::unique_ptr<Pc::Engine> make_kvm_engine(Pc& pc, std::string& error) {
  auto engine = std::make_unique<KvmEngine>(pc);
  error = engine->create();
  if (!error.empty()) return nullptr;
  return engine;
}

}  // namespace softvt
