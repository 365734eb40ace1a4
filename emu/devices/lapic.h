// The local APIC (SDM Vol. 3A chapter 11 "Advanced Programmable Interrupt
// Controller (APIC)"; chapter 10 in older editions) and the APIC bus that
// connects the local APICs of all CPUs with the I/O APIC.
//
// Interfaces (the machine wires them; no dependency on the machine classes):
// - time is an argument: every access that can observe the timer takes the
//   current guest time `now_ns`; next_deadline_ns() says when tick() must
//   be called next (the timer interrupt is signalled at exactly that time).
// - the CPU is a softvt::Cpu: the LAPIC is its Cpu::InterruptSource and
//   drives cpu.intr_line, sets cpu.nmi_pending and calls cpu.init_signal()
//   / cpu.startup_signal() (emu/cpu_init_sipi.cpp) for INIT and SIPI.
// - interrupt messages (IPIs, I/O APIC redirections) travel on an ApicBus,
//   which also broadcasts the EOIs of level-triggered vectors to the
//   I/O APIC(s) through listeners.
// - the 8259A PIC is wired to LINT0: set_lint(0, level) follows its INTR
//   output and set_extint_source() names it for the ExtINT acknowledge.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "emu/cpu.h"

namespace softvt {

class LocalApic;

namespace apic {
// Delivery modes (SDM 11.5.1 LVT, 11.6.1 ICR; 82093AA redirection table).
enum class Delivery : uint8_t {
  Fixed = 0, LowestPriority = 1, Smi = 2, Nmi = 4, Init = 5, StartUp = 6, ExtInt = 7
};
// Destination shorthands of the ICR (SDM 11.6.1, bits 19:18).
enum class Shorthand : uint8_t { None = 0, Self = 1, AllIncludingSelf = 2, AllExcludingSelf = 3 };

// Register offsets of the xAPIC MMIO page (SDM Table 11-1). The x2APIC MSR
// of a register is 0x800 + (offset >> 4) (SDM Table 11-6).
namespace mmio {
constexpr uint32_t ID = 0x020, VERSION = 0x030, TPR = 0x080, APR = 0x090, PPR = 0x0a0;
constexpr uint32_t EOI = 0x0b0, RRD = 0x0c0, LDR = 0x0d0, DFR = 0x0e0, SVR = 0x0f0;
constexpr uint32_t ISR = 0x100, TMR = 0x180, IRR = 0x200, ESR = 0x280, LVT_CMCI = 0x2f0;
constexpr uint32_t ICR_LOW = 0x300, ICR_HIGH = 0x310, LVT_TIMER = 0x320, LVT_THERMAL = 0x330;
constexpr uint32_t LVT_PERF = 0x340, LVT_LINT0 = 0x350, LVT_LINT1 = 0x360, LVT_ERROR = 0x370;
constexpr uint32_t TIMER_INITIAL = 0x380, TIMER_CURRENT = 0x390, TIMER_DIVIDE = 0x3e0;
constexpr uint32_t SELF_IPI = 0x3f0;  // x2APIC only (MSR 0x83f)
}  // namespace mmio

// MSRs the local APIC answers (SDM Vol. 4 Table 2-2; SDM 11.12).
namespace msr {
constexpr uint32_t APIC_BASE = 0x1b, TSC_DEADLINE = 0x6e0;
constexpr uint32_t X2APIC_FIRST = 0x800, X2APIC_LAST = 0x8ff, X2APIC_ICR = 0x830;
}  // namespace msr

// IA32_APIC_BASE bits (SDM 11.4.4, Figure 11-5; 11.12.1).
namespace base {
constexpr uint64_t BSP = 1u << 8, EXTD = 1u << 10, EN = 1u << 11;
constexpr uint64_t DEFAULT_ADDRESS = 0xfee00000;
}  // namespace base

// Error Status Register bits (SDM 11.5.3, Figure 11-9).
namespace esr {
constexpr uint32_t SEND_ILLEGAL_VECTOR = 1u << 5, RECEIVE_ILLEGAL_VECTOR = 1u << 6;
constexpr uint32_t ILLEGAL_REGISTER = 1u << 7;
}  // namespace esr

// LVT / ICR bits (SDM Figures 11-8, 11-12).
namespace lvt {
constexpr uint32_t VECTOR = 0xff, MODE_SHIFT = 8, MODE = 7u << 8, DEST_LOGICAL = 1u << 11;
constexpr uint32_t DELIVERY_STATUS = 1u << 12, POLARITY = 1u << 13, REMOTE_IRR = 1u << 14;
constexpr uint32_t LEVEL = 1u << 15, MASK = 1u << 16;
constexpr uint32_t TIMER_MODE_SHIFT = 17, TIMER_MODE = 3u << 17;
constexpr uint32_t ICR_ASSERT = 1u << 14, SHORTHAND_SHIFT = 18;
}  // namespace lvt

// Timer modes (LVT timer bits 18:17, SDM 11.5.4 and Figure 11-8).
enum class TimerMode : uint8_t { OneShot = 0, Periodic = 1, TscDeadline = 2 };
}  // namespace apic

// One interrupt message on the APIC bus (an IPI from an ICR, or a
// redirection-table entry of the I/O APIC).
struct ApicMessage {
  uint8_t vector = 0;
  apic::Delivery mode = apic::Delivery::Fixed;
  bool logical = false;          // destination mode (ICR / RTE bit 11)
  bool level_triggered = false;  // trigger mode (bit 15)
  bool assert_level = true;      // ICR bit 14; INIT with it 0 is "INIT level de-assert"
  apic::Shorthand shorthand = apic::Shorthand::None;
  uint32_t dest = 0;             // 8-bit xAPIC destination or 32-bit x2APIC one
  bool x2apic_format = false;    // dest is a 32-bit x2APIC destination
};

// The interconnect between local APICs and the I/O APIC (the system bus on
// Pentium 4 and later, SDM 11.2). Delivery is immediate: a message reaches
// its destinations inside send(), so delivery-status bits always read idle.
class ApicBus {
 public:
  void attach(LocalApic& apic) { apics_.push_back(&apic); }
  const std::vector<LocalApic*>& apics() const { return apics_; }
  // Routes `m` to its destinations. `sender` is the sending local APIC (for
  // the shorthands) or nullptr for the I/O APIC.
  void send(const ApicMessage& m, LocalApic* sender);
  // A local APIC's EOI of a level-triggered vector is broadcast to every
  // I/O APIC (SDM 11.8.5): each listener receives the vector.
  void add_eoi_listener(std::function<void(uint8_t vector)> f) { eoi_listeners_.push_back(std::move(f)); }
  void broadcast_eoi(uint8_t vector);

 private:
  std::vector<LocalApic*> destinations(const ApicMessage& m, LocalApic* sender) const;
  LocalApic* lowest_priority(const std::vector<LocalApic*>& targets, uint8_t vector) const;
  std::vector<LocalApic*> apics_;
  std::vector<std::function<void(uint8_t)>> eoi_listeners_;
};

class LocalApic final : public Cpu::InterruptSource {
 public:
  struct Config {
    uint32_t apic_id = 0;        // initial APIC ID (CPUID.01H:EBX[31:24], 0BH:EDX)
    bool bsp = false;            // IA32_APIC_BASE.BSP after reset
    bool x2apic = true;          // x2APIC mode available (CPUID.01H:ECX[21])
    bool tsc_deadline = true;    // TSC-deadline timer mode (CPUID.01H:ECX[24])
    bool cmci = true;            // LVT CMCI present: version reports max LVT 6
    uint8_t phys_addr_bits = 0;  // MAXPHYADDR for APIC_BASE; 0 = the CPU model's
    uint64_t bus_hz = 1000000000;  // timer input clock before the divider (1 ns, as QEMU)
    uint64_t tsc_hz = 1000000000;  // TSC ticks per second of guest time
  };

  // `cpu` may be nullptr (a LAPIC without a CPU: INTR/NMI/INIT go nowhere;
  // the TSC reads 0). The LAPIC attaches itself to `bus` if given.
  LocalApic(Cpu* cpu, ApicBus* bus, const Config& config);

  // Power-up / RESET state (SDM 11.4.7.1), IA32_APIC_BASE included.
  void power_on_reset();
  // The local APIC part of an INIT (SDM 11.4.7.3): every register as after
  // power-up except the APIC ID, IA32_APIC_BASE and the x2APIC mode.
  void init_reset();
  // The state a PC BIOS leaves (for a kernel loaded without firmware): the
  // APIC software-enabled with spurious vector 0xff, LINT0 in virtual-wire
  // ExtINT mode and LINT1 as NMI (MP spec 3.6.2.2, SDM 11.5.1).
  void set_bios_virtual_wire();

  // ---- register interfaces ---------------------------------------------------
  // xAPIC MMIO page at apic_base_address(): offset 0..0xfff. Registers are
  // 32 bits at 16-byte boundaries (SDM 11.4.1); only aligned 4-byte writes
  // take effect (other widths are undefined; ignored here), reads of any
  // width return the bytes of the 32-bit register.
  uint64_t mmio_read(uint64_t now_ns, uint64_t offset, unsigned size);
  void mmio_write(uint64_t now_ns, uint64_t offset, unsigned size, uint64_t value);
  // Whether the MMIO page currently answers (xAPIC mode; SDM 11.12.1: in
  // x2APIC mode or when disabled the page behaves like no APIC is there).
  bool mmio_enabled() const { return hw_enabled() && !x2apic_mode(); }
  uint64_t apic_base_address() const { return apic_base_ & ~uint64_t(0xfff) & phys_mask(); }

  // MSRs: IA32_APIC_BASE (0x1b), IA32_TSC_DEADLINE (0x6e0) and the x2APIC
  // range 0x800-0x8ff. false = the access raises #GP(0).
  static bool is_apic_msr(uint32_t index) {
    return index == apic::msr::APIC_BASE || index == apic::msr::TSC_DEADLINE ||
           (index >= apic::msr::X2APIC_FIRST && index <= apic::msr::X2APIC_LAST);
  }
  bool read_msr(uint64_t now_ns, uint32_t index, uint64_t& value);
  bool write_msr(uint64_t now_ns, uint32_t index, uint64_t value);
  uint64_t apic_base() const { return apic_base_; }
  // A WRMSR of IA32_APIC_BASE: false (#GP) for reserved bits and illegal
  // mode transitions (SDM 11.12.5, Figure 11-27).
  bool write_apic_base(uint64_t value);

  // CR8 is TPR[7:4] (SDM 11.8.6.1; 64-bit mode MOV CR8).
  uint64_t read_cr8() const { return tpr_ >> 4; }
  void write_cr8(uint64_t value) { set_tpr(uint8_t((value & 0xf) << 4)); }

  // ---- time ---------------------------------------------------------------------
  // Guest time of the next timer expiry, or UINT64_MAX if none is armed.
  uint64_t next_deadline_ns() const { return timer_deadline_ns_; }
  // Signals the timer interrupt if its deadline has been reached.
  void tick(uint64_t now_ns);
  // The guest changed the TSC (IA32_TSC / TSC_ADJUST): re-arm the
  // TSC-deadline timer against the new count.
  void tsc_changed(uint64_t now_ns);

  // ---- inputs -------------------------------------------------------------------
  // A message the bus routed to this APIC (its destination matched).
  void receive(const ApicMessage& m);
  // The LINT0/LINT1 pins (SDM 11.5.1). LINT0 is the PIC's INTR output.
  void set_lint(unsigned pin, bool level);
  void set_extint_source(Cpu::InterruptSource* pic) { extint_source_ = pic; update_intr(); }

  // The acknowledge cycle (SDM 11.8.4): the highest-priority IRR vector
  // above the PPR moves to the ISR; else an ExtINT request is answered by
  // the PIC; else the spurious vector (SDM 11.9).
  uint8_t intr_acknowledge() override;

  // ---- state the bus and tests look at ------------------------------------------
  bool hw_enabled() const { return apic_base_ & apic::base::EN; }
  bool sw_enabled() const { return svr_ & 0x100; }
  bool x2apic_mode() const { return hw_enabled() && (apic_base_ & apic::base::EXTD); }
  uint32_t id() const;            // xAPIC: ID[31:24]; x2APIC: the 32-bit x2APIC ID
  uint32_t logical_id() const { return ldr_; }
  bool matches(uint32_t dest, bool logical, bool x2apic_format) const;
  bool focus_holds(uint8_t vector) const;  // vector in IRR or ISR, focus checking on
  uint8_t tpr() const { return tpr_; }
  uint8_t ppr() const;
  uint8_t apr() const;
  bool irr(uint8_t v) const { return test(irr_, v); }
  bool isr(uint8_t v) const { return test(isr_, v); }
  bool tmr(uint8_t v) const { return test(tmr_, v); }
  uint64_t tsc_deadline() const { return tsc_deadline_; }
  Cpu* cpu() const { return cpu_; }

  // Snapshots (emu/machine/state_io.h): the fields that change as the
  // machine runs.
  template <class Io>
  void state_io(Io& io) {
    io(apic_base_);
    io(xapic_id_);
    io(tpr_);
    io(ldr_);
    io(dfr_);
    io(svr_);
    io(isr_);
    io(tmr_);
    io(irr_);
    io(esr_);
    io(esr_pending_);
    io(icr_);
    io(lvt_);
    io(lint_level_);
    io(extint_message_);
    io(initial_count_);
    io(divide_config_);
    io(timer_base_ns_);
    io(timer_base_count_);
    io(timer_fired_);
    io(tsc_deadline_);
    io(timer_deadline_ns_);
  }

 private:
  using VectorSet = std::array<uint32_t, 8>;
  static bool test(const VectorSet& s, uint8_t v) { return s[v >> 5] & (1u << (v & 31)); }
  static void set(VectorSet& s, uint8_t v, bool on) {
    if (on) s[v >> 5] |= 1u << (v & 31); else s[v >> 5] &= ~(1u << (v & 31));
  }
  static int highest(const VectorSet& s);

  enum Lvt : unsigned { LVT_CMCI_I, LVT_TIMER_I, LVT_THERMAL_I, LVT_PERF_I, LVT_LINT0_I, LVT_LINT1_I, LVT_ERROR_I, LVT_COUNT };
  static int lvt_index(uint32_t offset);
  uint32_t lvt_writable_mask(unsigned i) const;

  // register file (lapic.cpp)
  bool read_register(uint64_t now_ns, uint32_t offset, uint32_t& value);
  enum class WriteResult { Ok, ReadOnly, Reserved, NotPresent };
  WriteResult write_register(uint64_t now_ns, uint32_t offset, uint64_t value);
  bool x2apic_register_exists(uint32_t offset) const;
  uint32_t x2apic_reserved_bits(uint32_t offset) const;
  void write_lvt(uint64_t now_ns, unsigned i, uint32_t value);
  void write_svr(uint32_t value);
  void set_tpr(uint8_t v) { tpr_ = v; update_intr(); }
  void eoi();
  void write_esr();
  void signal_error(uint32_t bits);
  uint64_t phys_mask() const;
  void reset_registers();

  // interrupts
  void accept_interrupt(uint8_t vector, bool level);
  void deliver_lvt(unsigned i);
  void send_ipi(uint64_t icr);
  void update_intr();
  int deliverable_vector() const;
  bool extint_requested() const;
  void nmi();

  // timer (lapic_timer.cpp)
  apic::TimerMode timer_mode() const { return apic::TimerMode((lvt_[LVT_TIMER_I] >> 17) & 3); }
  unsigned divide() const;
  uint64_t timer_ticks_since_base(uint64_t now_ns) const;
  uint64_t ns_for_ticks(uint64_t ticks) const;
  uint32_t current_count(uint64_t now_ns) const;
  void restart_timer(uint64_t now_ns, uint32_t count);
  void rebase_timer(uint64_t now_ns);
  void arm_counter_deadline();
  void arm_tsc_deadline(uint64_t now_ns);
  void write_tsc_deadline(uint64_t now_ns, uint64_t value);
  uint64_t read_tsc() const;
  void stop_timer();

  Cpu* cpu_;
  ApicBus* bus_;
  Config config_;
  Cpu::InterruptSource* extint_source_ = nullptr;

  uint64_t apic_base_ = 0;
  uint32_t xapic_id_ = 0;  // the ID register (bits 31:24 used)
  uint8_t tpr_ = 0;
  uint32_t ldr_ = 0, dfr_ = 0xffffffff, svr_ = 0xff;
  VectorSet isr_{}, tmr_{}, irr_{};
  uint32_t esr_ = 0, esr_pending_ = 0;
  uint64_t icr_ = 0;
  std::array<uint32_t, LVT_COUNT> lvt_{};
  bool lint_level_[2] = {false, false};
  bool extint_message_ = false;  // an ExtINT message from the bus awaits the acknowledge

  // timer: at base_ns the count was base_count_; periodic reloads initial_count_
  uint32_t initial_count_ = 0, divide_config_ = 0;
  uint64_t timer_base_ns_ = 0;
  uint32_t timer_base_count_ = 0;  // 0 = the counter is stopped
  uint64_t timer_fired_ = 0;       // expiries already signalled since the base
  uint64_t tsc_deadline_ = 0;
  uint64_t timer_deadline_ns_ = UINT64_MAX;
};

}  // namespace softvt
