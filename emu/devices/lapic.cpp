// Local APIC: the register file (xAPIC MMIO and x2APIC MSRs), IA32_APIC_BASE,
// priorities, interrupt acceptance and EOI, local vector table and IPIs.
// The timer lives in lapic_timer.cpp, the bus in lapic_bus.cpp.
#include "emu/devices/lapic.h"

#include <algorithm>

namespace softvt {

using namespace apic;

namespace {
constexpr uint32_t SVR_ENABLE = 0x100, SVR_FOCUS_DISABLE = 0x200;
// Bits of the ICR's low word software can write (SDM Figure 11-12): vector,
// delivery mode, destination mode, level, trigger mode, shorthand.
constexpr uint32_t ICR_LOW_WRITABLE = 0xff | lvt::MODE | lvt::DEST_LOGICAL | lvt::ICR_ASSERT |
                                      lvt::LEVEL | (3u << lvt::SHORTHAND_SHIFT);
}  // namespace

LocalApic::LocalApic(Cpu* cpu, ApicBus* bus, const Config& config)
    : cpu_(cpu), bus_(bus), config_(config) {
  if (cpu_) cpu_->intr_source = this;
  if (bus_) bus_->attach(*this);
  power_on_reset();
}

uint64_t LocalApic::phys_mask() const {
  unsigned bits = config_.phys_addr_bits;
  if (!bits) bits = cpu_ ? cpu_->model.phys_addr_bits : 36;
  return (uint64_t(1) << bits) - 1;
}

// SDM 11.4.7.1: IRR, ISR, TMR, ICR, LDR, TPR, the timer counts and the
// divide configuration 0; DFR all ones; every LVT entry masked; SVR 0xff
// (software-disabled).
void LocalApic::reset_registers() {
  tpr_ = 0;
  ldr_ = 0;
  dfr_ = 0xffffffff;
  svr_ = 0xff;
  isr_ = {};
  tmr_ = {};
  irr_ = {};
  esr_ = esr_pending_ = 0;
  icr_ = 0;
  lvt_.fill(lvt::MASK);
  extint_message_ = false;
  initial_count_ = divide_config_ = 0;
  tsc_deadline_ = 0;
  stop_timer();
  if (x2apic_mode()) ldr_ = ((config_.apic_id >> 4) << 16) | (1u << (config_.apic_id & 0xf));
}

void LocalApic::power_on_reset() {
  apic_base_ = base::DEFAULT_ADDRESS | base::EN | (config_.bsp ? base::BSP : 0);
  xapic_id_ = config_.apic_id << 24;
  reset_registers();
  if (cpu_) cpu_->s.apic_base = apic_base_;
  update_intr();
}

void LocalApic::init_reset() {
  reset_registers();
  update_intr();
}

void LocalApic::set_bios_virtual_wire() {
  write_svr(SVR_ENABLE | 0xff);
  lvt_[LVT_LINT0_I] = uint32_t(Delivery::ExtInt) << lvt::MODE_SHIFT;
  lvt_[LVT_LINT1_I] = uint32_t(Delivery::Nmi) << lvt::MODE_SHIFT;
  update_intr();
}

uint32_t LocalApic::id() const { return x2apic_mode() ? config_.apic_id : xapic_id_ >> 24; }

int LocalApic::highest(const VectorSet& s) {
  for (int w = 7; w >= 0; --w)
    if (s[w]) return w * 32 + 31 - __builtin_clz(s[w]);
  return -1;
}

// SDM 11.8.3.1: PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4]:0000
// (ISRV = the highest vector in service, 0 if none).
uint8_t LocalApic::ppr() const {
  const int isrv = std::max(highest(isr_), 0);
  if ((tpr_ >> 4) >= (isrv >> 4)) return tpr_;
  return uint8_t(isrv & 0xf0);
}

// SDM 11.6.2.4 (the APR of lowest-priority arbitration): APR = TPR if
// TPR[7:4] >= IRRV[7:4] and TPR[7:4] > ISRV[7:4]; else the highest of the
// three priority classes with APR[3:0] = 0.
uint8_t LocalApic::apr() const {
  const int isrv = std::max(highest(isr_), 0), irrv = std::max(highest(irr_), 0);
  if ((tpr_ >> 4) >= (irrv >> 4) && (tpr_ >> 4) > (isrv >> 4)) return tpr_;
  return uint8_t(std::max({tpr_ & 0xf0, isrv & 0xf0, irrv & 0xf0}));
}

// ---- IA32_APIC_BASE ----------------------------------------------------------------

bool LocalApic::write_apic_base(uint64_t value) {
  // Reserved: bits 0-7 and 9, bits at and above MAXPHYADDR, and EXTD without
  // x2APIC support (SDM 11.4.4, 11.12.1).
  uint64_t reserved = 0x2ff | ~phys_mask();
  if (!config_.x2apic) reserved |= base::EXTD;
  if (value & reserved) return false;
  const bool en = value & base::EN, extd = value & base::EXTD;
  const bool was_x2 = x2apic_mode(), was_en = hw_enabled();
  // SDM 11.12.5 (Figure 11-27): EXTD without EN is invalid; x2APIC may
  // only be left by disabling the APIC; a disabled APIC cannot go straight
  // to x2APIC mode.
  if (extd && !en) return false;
  if (was_x2 && en && !extd) return false;
  if (!was_en && en && extd) return false;
  apic_base_ = value;
  if (was_en && !en) {
    // Disabling loses all APIC state (SDM 11.4.3); a re-enabled APIC starts
    // from its power-up state with the initial APIC ID.
    xapic_id_ = config_.apic_id << 24;
    reset_registers();
  }
  if (!was_x2 && x2apic_mode()) {
    // xAPIC -> x2APIC: the logical ID derives from the x2APIC ID (SDM
    // 11.12.10.2: cluster ID = x2APIC ID[19:4], bit position = ID[3:0]).
    ldr_ = ((config_.apic_id >> 4) << 16) | (1u << (config_.apic_id & 0xf));
  }
  if (cpu_) cpu_->s.apic_base = apic_base_;
  update_intr();
  return true;
}

// ---- register file -------------------------------------------------------------------

int LocalApic::lvt_index(uint32_t offset) {
  switch (offset) {
    case mmio::LVT_CMCI: return LVT_CMCI_I;
    case mmio::LVT_TIMER: return LVT_TIMER_I;
    case mmio::LVT_THERMAL: return LVT_THERMAL_I;
    case mmio::LVT_PERF: return LVT_PERF_I;
    case mmio::LVT_LINT0: return LVT_LINT0_I;
    case mmio::LVT_LINT1: return LVT_LINT1_I;
    case mmio::LVT_ERROR: return LVT_ERROR_I;
    default: return -1;
  }
}

// The bits of each LVT entry software writes (SDM Figure 11-8); the rest
// are reserved or read-only (delivery status, remote IRR).
uint32_t LocalApic::lvt_writable_mask(unsigned i) const {
  switch (i) {
    case LVT_TIMER_I:
      return lvt::VECTOR | lvt::MASK | (config_.tsc_deadline ? lvt::TIMER_MODE : (1u << 17));
    case LVT_ERROR_I: return lvt::VECTOR | lvt::MASK;
    case LVT_LINT0_I:
    case LVT_LINT1_I: return lvt::VECTOR | lvt::MODE | lvt::POLARITY | lvt::LEVEL | lvt::MASK;
    default: return lvt::VECTOR | lvt::MODE | lvt::MASK;  // CMCI, thermal, performance
  }
}

bool LocalApic::read_register(uint64_t now_ns, uint32_t offset, uint32_t& v) {
  if (offset >= mmio::ISR && offset < mmio::ISR + 0x80) { v = isr_[(offset - mmio::ISR) >> 4]; return true; }
  if (offset >= mmio::TMR && offset < mmio::TMR + 0x80) { v = tmr_[(offset - mmio::TMR) >> 4]; return true; }
  if (offset >= mmio::IRR && offset < mmio::IRR + 0x80) { v = irr_[(offset - mmio::IRR) >> 4]; return true; }
  const int li = lvt_index(offset);
  if (li >= 0 && !(li == LVT_CMCI_I && !config_.cmci)) { v = lvt_[li]; return true; }
  switch (offset) {
    case mmio::ID: v = x2apic_mode() ? config_.apic_id : xapic_id_; return true;
    // Version 0x14 (integrated APIC), max LVT entry = entries - 1 in bits
    // 23:16 (SDM 11.4.8, Figure 11-7); no EOI-broadcast suppression (bit 24).
    case mmio::VERSION: v = 0x14 | ((config_.cmci ? 6u : 5u) << 16); return true;
    case mmio::TPR: v = tpr_; return true;
    case mmio::APR: v = apr(); return true;
    case mmio::PPR: v = ppr(); return true;
    case mmio::EOI: v = 0; return true;
    case mmio::RRD: v = 0; return true;
    case mmio::LDR: v = ldr_; return true;
    case mmio::DFR: v = dfr_; return true;
    case mmio::SVR: v = svr_; return true;
    case mmio::ESR: v = esr_; return true;
    case mmio::ICR_LOW: v = uint32_t(icr_); return true;  // delivery status 0: always idle
    case mmio::ICR_HIGH: v = uint32_t(icr_ >> 32); return true;
    case mmio::TIMER_INITIAL: v = initial_count_; return true;
    case mmio::TIMER_CURRENT: v = current_count(now_ns); return true;
    case mmio::TIMER_DIVIDE: v = divide_config_; return true;
    default: return false;
  }
}

void LocalApic::write_svr(uint32_t value) {
  svr_ = value & (0xff | SVR_ENABLE | SVR_FOCUS_DISABLE);
  // Software disable masks every LVT entry (SDM 11.4.7.2).
  if (!sw_enabled())
    for (uint32_t& e : lvt_) e |= lvt::MASK;
  update_intr();
}

void LocalApic::write_lvt(uint64_t now_ns, unsigned i, uint32_t value) {
  const uint32_t keep = lvt::DELIVERY_STATUS | lvt::REMOTE_IRR;
  uint32_t v = (lvt_[i] & keep) | (value & lvt_writable_mask(i));
  // While software-disabled the mask bits cannot be cleared (SDM 11.4.7.2).
  if (!sw_enabled()) v |= lvt::MASK;
  if (i == LVT_TIMER_I) {
    const TimerMode om = timer_mode(), nm = TimerMode((v >> lvt::TIMER_MODE_SHIFT) & 3);
    const bool old_tsc = om == TimerMode::TscDeadline, new_tsc = nm == TimerMode::TscDeadline;
    if (old_tsc != new_tsc) {
      // SDM 11.5.4.1: a transition into or out of TSC-deadline mode disarms
      // the timer.
      lvt_[i] = v;
      tsc_deadline_ = 0;
      stop_timer();
    } else if (om != nm) {
      // One-shot <-> periodic: the count continues from where the old mode
      // had it; only what happens at 0 changes.
      rebase_timer(now_ns);
      lvt_[i] = v;
      arm_counter_deadline();
    } else {
      lvt_[i] = v;
    }
  } else {
    lvt_[i] = v;
  }
  if (i == LVT_LINT0_I || i == LVT_LINT1_I) {
    // A level-triggered fixed LINT input that is high when unmasked.
    if (!(v & lvt::MASK) && ((v & lvt::MODE) >> lvt::MODE_SHIFT) == unsigned(Delivery::Fixed) &&
        (v & lvt::LEVEL) && lint_level_[i - LVT_LINT0_I] && !(v & lvt::REMOTE_IRR)) {
      lvt_[i] |= lvt::REMOTE_IRR;
      accept_interrupt(uint8_t(v), true);
    }
    update_intr();
  }
}

LocalApic::WriteResult LocalApic::write_register(uint64_t now_ns, uint32_t offset, uint64_t value) {
  const uint32_t v = uint32_t(value);
  const int li = lvt_index(offset);
  if (li >= 0 && !(li == LVT_CMCI_I && !config_.cmci)) {
    write_lvt(now_ns, unsigned(li), v);
    return WriteResult::Ok;
  }
  switch (offset) {
    case mmio::ID: xapic_id_ = v & 0xff000000; return WriteResult::Ok;
    case mmio::TPR: set_tpr(uint8_t(v)); return WriteResult::Ok;
    case mmio::EOI: eoi(); return WriteResult::Ok;
    case mmio::LDR: ldr_ = v & 0xff000000; return WriteResult::Ok;
    case mmio::DFR: dfr_ = (v & 0xf0000000) | 0x0fffffff; return WriteResult::Ok;
    case mmio::SVR: write_svr(v); return WriteResult::Ok;
    case mmio::ESR: write_esr(); return WriteResult::Ok;
    case mmio::ICR_LOW:
      // xAPIC: writing the low word sends the IPI (SDM 11.6.1).
      icr_ = (icr_ & ~uint64_t(0xffffffff)) | (v & ICR_LOW_WRITABLE);
      send_ipi(icr_);
      return WriteResult::Ok;
    case mmio::ICR_HIGH: icr_ = (icr_ & 0xffffffff) | (uint64_t(v & 0xff000000) << 32); return WriteResult::Ok;
    case mmio::TIMER_INITIAL:
      // Ignored in TSC-deadline mode (SDM 11.5.4.1); 0 stops the timer.
      if (timer_mode() == TimerMode::TscDeadline) return WriteResult::Ok;
      initial_count_ = v;
      restart_timer(now_ns, v);
      return WriteResult::Ok;
    case mmio::TIMER_DIVIDE:
      rebase_timer(now_ns);
      divide_config_ = v & 0xb;
      arm_counter_deadline();
      return WriteResult::Ok;
    case mmio::VERSION: case mmio::APR: case mmio::PPR: case mmio::RRD: case mmio::TIMER_CURRENT:
      return WriteResult::ReadOnly;
    default:
      if (offset >= mmio::ISR && offset < mmio::IRR + 0x80) return WriteResult::ReadOnly;
      return WriteResult::NotPresent;
  }
}

// ---- xAPIC MMIO ------------------------------------------------------------------------

uint64_t LocalApic::mmio_read(uint64_t now_ns, uint64_t offset, unsigned size) {
  if (now_ns >= timer_deadline_ns_) tick(now_ns);
  const uint64_t ones = size >= 8 ? ~uint64_t(0) : (uint64_t(1) << (8 * size)) - 1;
  if (!mmio_enabled()) return ones;  // like no APIC: an open bus
  const uint32_t reg_off = uint32_t(offset & 0xff0);
  const unsigned byte = unsigned(offset & 0xf);
  uint32_t v = 0;
  if (reg_off == mmio::SELF_IPI || !read_register(now_ns, reg_off, v)) {
    signal_error(esr::ILLEGAL_REGISTER);  // an unimplemented register (SDM 11.5.3)
    return 0;
  }
  if (byte >= 4) return 0;  // bytes 4-15 of each 16-byte slot are not part of the register
  return (uint64_t(v) >> (8 * byte)) & ones;
}

void LocalApic::mmio_write(uint64_t now_ns, uint64_t offset, unsigned size, uint64_t value) {
  if (now_ns >= timer_deadline_ns_) tick(now_ns);
  if (!mmio_enabled()) return;
  if (size != 4 || (offset & 0xf)) return;  // SDM 11.4.1: only aligned 32-bit accesses
  const uint32_t reg_off = uint32_t(offset & 0xff0);
  if (reg_off == mmio::SELF_IPI || write_register(now_ns, reg_off, uint32_t(value)) == WriteResult::NotPresent)
    signal_error(esr::ILLEGAL_REGISTER);
}

// ---- x2APIC MSRs --------------------------------------------------------------------------

// Registers that exist in x2APIC mode (SDM Table 11-6): no APR, RRD, DFR or
// ICR high word; SELF IPI is added.
bool LocalApic::x2apic_register_exists(uint32_t offset) const {
  switch (offset) {
    case mmio::APR: case mmio::RRD: case mmio::DFR: case mmio::ICR_HIGH: return false;
    case mmio::LVT_CMCI: return config_.cmci;
    case mmio::SELF_IPI: return true;
    default:
      return offset == mmio::ID || offset == mmio::VERSION || offset == mmio::TPR ||
             offset == mmio::PPR || offset == mmio::EOI || offset == mmio::LDR || offset == mmio::SVR ||
             (offset >= mmio::ISR && offset < mmio::IRR + 0x80) || offset == mmio::ESR ||
             offset == mmio::ICR_LOW || lvt_index(offset) >= 0 || offset == mmio::TIMER_INITIAL ||
             offset == mmio::TIMER_CURRENT || offset == mmio::TIMER_DIVIDE;
  }
}

// Bits that must be 0 in a WRMSR of an x2APIC register (SDM 11.12.1.3:
// non-zero writes to reserved bits raise #GP).
uint32_t LocalApic::x2apic_reserved_bits(uint32_t offset) const {
  const int li = lvt_index(offset);
  if (li >= 0) {
    // Read-only bits (delivery status, remote IRR) are defined, not reserved.
    uint32_t defined = lvt_writable_mask(unsigned(li)) | lvt::DELIVERY_STATUS;
    if (li == LVT_LINT0_I || li == LVT_LINT1_I) defined |= lvt::REMOTE_IRR;
    return ~defined;
  }
  switch (offset) {
    case mmio::TPR: case mmio::SELF_IPI: return ~0xffu;
    case mmio::SVR: return ~uint32_t(0x3ff);
    case mmio::ESR: case mmio::EOI: return ~0u;  // only 0 may be written
    case mmio::TIMER_DIVIDE: return ~0xbu;
    default: return 0;
  }
}

bool LocalApic::read_msr(uint64_t now_ns, uint32_t index, uint64_t& value) {
  if (now_ns >= timer_deadline_ns_) tick(now_ns);
  if (index == msr::APIC_BASE) { value = apic_base_; return true; }
  if (index == msr::TSC_DEADLINE) {
    if (!config_.tsc_deadline) return false;
    // Reads 0 outside TSC-deadline mode (SDM 11.5.4.1).
    value = timer_mode() == TimerMode::TscDeadline ? tsc_deadline_ : 0;
    return true;
  }
  if (index < msr::X2APIC_FIRST || index > msr::X2APIC_LAST || !x2apic_mode()) return false;
  const uint32_t offset = (index - msr::X2APIC_FIRST) << 4;
  if (!x2apic_register_exists(offset)) return false;
  // Write-only registers raise #GP on RDMSR (SDM 11.12.1.2).
  if (offset == mmio::EOI || offset == mmio::SELF_IPI) return false;
  if (offset == mmio::ICR_LOW) { value = icr_; return true; }
  uint32_t v = 0;
  if (!read_register(now_ns, offset, v)) return false;
  value = v;
  return true;
}

bool LocalApic::write_msr(uint64_t now_ns, uint32_t index, uint64_t value) {
  if (now_ns >= timer_deadline_ns_) tick(now_ns);
  if (index == msr::APIC_BASE) return write_apic_base(value);
  if (index == msr::TSC_DEADLINE) {
    if (!config_.tsc_deadline) return false;
    write_tsc_deadline(now_ns, value);
    return true;
  }
  if (index < msr::X2APIC_FIRST || index > msr::X2APIC_LAST || !x2apic_mode()) return false;
  const uint32_t offset = (index - msr::X2APIC_FIRST) << 4;
  if (!x2apic_register_exists(offset)) return false;
  if (offset == mmio::ICR_LOW) {
    // One 64-bit register: destination in 63:32; bit 12 (delivery status),
    // 13, 16-17 and 20-31 are reserved (SDM 11.12.9, Figure 11-28).
    if (value & ~((uint64_t(0xffffffff) << 32) | ICR_LOW_WRITABLE)) return false;
    icr_ = value;
    send_ipi(icr_);
    return true;
  }
  if ((value >> 32) || (uint32_t(value) & x2apic_reserved_bits(offset))) return false;
  if (offset == mmio::SELF_IPI) {
    // SELF IPI: a fixed, edge-triggered IPI to this APIC (SDM 11.12.11).
    send_ipi((value & 0xff) | (uint64_t(Shorthand::Self) << lvt::SHORTHAND_SHIFT));
    return true;
  }
  // ID, LDR, version, PPR, ISR/TMR/IRR and the current count are read-only.
  if (offset == mmio::ID || offset == mmio::LDR) return false;
  return write_register(now_ns, offset, value) == WriteResult::Ok;
}

// ---- errors ----------------------------------------------------------------------------------

// SDM 11.5.3: errors accumulate internally; a write to the ESR makes them
// visible (and clears what was visible before).
void LocalApic::write_esr() {
  esr_ = esr_pending_;
  esr_pending_ = 0;
}

void LocalApic::signal_error(uint32_t bits) {
  esr_pending_ |= bits;
  deliver_lvt(LVT_ERROR_I);
}

// ---- interrupts ------------------------------------------------------------------------------

void LocalApic::accept_interrupt(uint8_t vector, bool level) {
  // Vectors 0-15 are illegal: never set in the IRR (SDM 11.5.3).
  if (vector < 16) {
    signal_error(esr::RECEIVE_ILLEGAL_VECTOR);
    return;
  }
  set(irr_, vector, true);
  set(tmr_, vector, level);  // SDM 11.8.4: TMR = trigger mode of the accepted interrupt
  update_intr();
}

void LocalApic::nmi() {
  if (cpu_ && !cpu_->wait_for_sipi) cpu_->nmi_pending = true;
}

void LocalApic::deliver_lvt(unsigned i) {
  const uint32_t e = lvt_[i];
  if (e & lvt::MASK) return;
  // The timer and error entries have no delivery-mode field: always fixed.
  const Delivery mode = (i == LVT_TIMER_I || i == LVT_ERROR_I)
                            ? Delivery::Fixed
                            : Delivery((e & lvt::MODE) >> lvt::MODE_SHIFT);
  switch (mode) {
    case Delivery::Fixed: {
      const bool level = (i == LVT_LINT0_I || i == LVT_LINT1_I) && (e & lvt::LEVEL);
      accept_interrupt(uint8_t(e), level);
      break;
    }
    case Delivery::Nmi: nmi(); break;
    case Delivery::Init: {
      ApicMessage m;
      m.mode = Delivery::Init;
      receive(m);
      break;
    }
    default: break;  // SMI is not modelled; ExtINT is level-driven (extint_requested)
  }
}

void LocalApic::eoi() {
  const int v = highest(isr_);
  if (v < 0) return;
  set(isr_, uint8_t(v), false);
  // Level-triggered: broadcast the EOI to the I/O APICs (SDM 11.8.5).
  if (test(tmr_, uint8_t(v)) && bus_) bus_->broadcast_eoi(uint8_t(v));
  // A level-triggered LINT input: remote IRR clears; still high, it asks again.
  for (unsigned pin = 0; pin < 2; ++pin) {
    uint32_t& e = lvt_[LVT_LINT0_I + pin];
    if ((e & lvt::REMOTE_IRR) && uint8_t(e) == v) {
      e &= ~lvt::REMOTE_IRR;
      if (lint_level_[pin] && !(e & lvt::MASK) && (e & lvt::LEVEL)) {
        e |= lvt::REMOTE_IRR;
        accept_interrupt(uint8_t(e), true);
      }
    }
  }
  update_intr();
}

void LocalApic::set_lint(unsigned pin, bool level) {
  if (pin > 1) return;
  const bool rising = level && !lint_level_[pin];
  lint_level_[pin] = level;
  if (!hw_enabled()) {
    // A disabled APIC passes LINT0 as INTR and LINT1 as NMI (SDM 11.4.3).
    if (pin == 1 && rising) nmi();
    update_intr();
    return;
  }
  uint32_t& e = lvt_[LVT_LINT0_I + pin];
  const Delivery mode = Delivery((e & lvt::MODE) >> lvt::MODE_SHIFT);
  if (mode == Delivery::ExtInt) {
    update_intr();
    return;
  }
  if (e & lvt::MASK) return;
  if (mode == Delivery::Fixed && (e & lvt::LEVEL)) {
    if (level && !(e & lvt::REMOTE_IRR)) {
      e |= lvt::REMOTE_IRR;
      accept_interrupt(uint8_t(e), true);
    }
    return;
  }
  if (rising) deliver_lvt(LVT_LINT0_I + pin);  // NMI, INIT and SMI are edge-triggered
}

void LocalApic::receive(const ApicMessage& m) {
  switch (m.mode) {
    case Delivery::Fixed:
    case Delivery::LowestPriority:
      // A software-disabled APIC does not accept fixed interrupts (it
      // still answers NMI, INIT and SIPI: SDM 11.4.7.2).
      if (sw_enabled()) accept_interrupt(m.vector, m.level_triggered);
      break;
    case Delivery::Nmi: nmi(); break;
    case Delivery::Init:
      // INIT level de-assert only re-synchronises arbitration IDs on P6
      // and older; later processors ignore it (SDM 11.6.1).
      if (m.level_triggered && !m.assert_level) break;
      init_reset();
      if (cpu_) cpu_->init_signal();
      update_intr();
      break;
    case Delivery::StartUp:
      // A SIPI is only seen in the wait-for-SIPI state (SDM 9.4.4.1).
      if (cpu_ && cpu_->wait_for_sipi) {
        cpu_->startup_signal(m.vector);
        update_intr();
      }
      break;
    case Delivery::ExtInt:
      extint_message_ = true;
      update_intr();
      break;
    default: break;  // SMI is not modelled
  }
}

void LocalApic::send_ipi(uint64_t icr) {
  ApicMessage m;
  m.vector = uint8_t(icr);
  m.mode = Delivery((icr >> lvt::MODE_SHIFT) & 7);
  m.logical = icr & lvt::DEST_LOGICAL;
  m.level_triggered = icr & lvt::LEVEL;
  m.assert_level = icr & lvt::ICR_ASSERT;
  m.shorthand = Shorthand((icr >> lvt::SHORTHAND_SHIFT) & 3);
  m.x2apic_format = x2apic_mode();
  m.dest = m.x2apic_format ? uint32_t(icr >> 32) : uint32_t(icr >> 56);
  if ((m.mode == Delivery::Fixed || m.mode == Delivery::LowestPriority) && m.vector < 16) {
    signal_error(esr::SEND_ILLEGAL_VECTOR);  // not sent (SDM 11.5.3)
    return;
  }
  // Reserved delivery modes (011, and ExtINT in an ICR) and the invalid
  // shorthand combinations of SDM Table 11-3 (self with anything but fixed,
  // lowest priority to all including self) send nothing.
  if (m.mode == Delivery(3) || m.mode == Delivery::ExtInt) return;
  if (m.shorthand == Shorthand::Self && m.mode != Delivery::Fixed) return;
  if (m.shorthand == Shorthand::AllIncludingSelf && m.mode == Delivery::LowestPriority) return;
  if (bus_) {
    bus_->send(m, this);
  } else if (m.shorthand == Shorthand::Self || m.shorthand == Shorthand::AllIncludingSelf ||
             (m.shorthand == Shorthand::None && matches(m.dest, m.logical, m.x2apic_format))) {
    receive(m);
  }
}

bool LocalApic::matches(uint32_t dest, bool logical, bool x2apic_format) const {
  if (!hw_enabled()) return false;
  if (x2apic_mode()) {
    // SDM 11.12.10: 0xffffffff is the broadcast; logical destinations are
    // cluster (31:16) plus a 16-bit member mask.
    if (x2apic_format ? dest == 0xffffffff : (dest & 0xff) == 0xff) return true;
    if (!logical) return dest == config_.apic_id;
    return (dest >> 16) == (ldr_ >> 16) && (dest & ldr_ & 0xffff);
  }
  if (x2apic_format && dest == 0xffffffff) return true;
  if (dest > 0xff) return false;
  if (dest == 0xff) return true;  // broadcast, physical and logical (SDM 11.6.2.1-2)
  if (!logical) return dest == (xapic_id_ >> 24);
  const uint32_t l = ldr_ >> 24;
  switch (dfr_ >> 28) {
    case 0xf: return (dest & l) != 0;  // flat model: bitmap (SDM 11.6.2.2)
    case 0x0:
      // Cluster model: cluster 7:4 (15 addresses all clusters) and a
      // member bitmap in 3:0.
      return ((dest >> 4) == (l >> 4) || (dest >> 4) == 0xf) && (dest & l & 0xf);
    default: return false;
  }
}

bool LocalApic::focus_holds(uint8_t vector) const {
  return !(svr_ & SVR_FOCUS_DISABLE) && (irr(vector) || isr(vector));
}

// ---- the INTR line and the acknowledge cycle ----------------------------------------------

// SDM 11.8.3.1 / 11.8.4: the highest IRR vector whose priority class is
// above the PPR's.
int LocalApic::deliverable_vector() const {
  const int v = highest(irr_);
  if (v < 0 || (v & 0xf0) <= (ppr() & 0xf0)) return -1;
  return v;
}

bool LocalApic::extint_requested() const {
  if (extint_message_) return true;
  const uint32_t e = lvt_[LVT_LINT0_I];
  return lint_level_[0] && !(e & lvt::MASK) &&
         ((e & lvt::MODE) >> lvt::MODE_SHIFT) == unsigned(Delivery::ExtInt);
}

void LocalApic::update_intr() {
  if (!cpu_) return;
  bool line;
  if (cpu_->wait_for_sipi) line = false;  // only INIT and SIPI are seen (SDM 9.4.4.1)
  else if (!hw_enabled()) line = lint_level_[0];
  else line = deliverable_vector() >= 0 || extint_requested();
  cpu_->intr_line = line;
}

uint8_t LocalApic::intr_acknowledge() {
  uint8_t vector;
  const int v = hw_enabled() ? deliverable_vector() : -1;
  if (v >= 0) {
    set(irr_, uint8_t(v), false);
    set(isr_, uint8_t(v), true);
    vector = uint8_t(v);
  } else if ((!hw_enabled() && lint_level_[0]) || (hw_enabled() && extint_requested())) {
    // ExtINT: the 8259A supplies the vector and the APIC keeps no state
    // (SDM 11.5.1 "ExtINT"). APIC interrupts are looked at first, as QEMU
    // and KVM do.
    extint_message_ = false;
    vector = extint_source_ ? extint_source_->intr_acknowledge() : uint8_t(svr_);
  } else {
    vector = uint8_t(svr_);  // spurious: the ISR is left alone (SDM 11.9)
  }
  update_intr();
  return vector;
}

}  // namespace softvt
