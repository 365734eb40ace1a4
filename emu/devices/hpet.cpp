// HPET registers, main counter and comparators (IA-PC HPET Specification
// 1.0a, section 2.3).
#include "emu/devices/hpet.h"

namespace softvt {

namespace {
constexpr uint64_t LOW32 = 0xffffffffull;
// Tn_CONF_CAP bits software writes: interrupt type, enable, periodic,
// value-set, 32-bit mode, route (spec 2.3.8); FSB delivery is not offered.
constexpr uint64_t TN_WRITABLE = Hpet::TN_INT_TYPE_LEVEL | Hpet::TN_INT_ENB | Hpet::TN_TYPE_PERIODIC |
                                 Hpet::TN_VAL_SET | Hpet::TN_32MODE | Hpet::TN_INT_ROUTE;
}  // namespace

Hpet::Hpet(Callbacks cb) : cb_(std::move(cb)) { reset(); }

void Hpet::reset() {
  gen_conf_ = 0;
  isr_ = 0;
  counter_base_ = counter_base_ns_ = 0;
  for (Timer& t : timers_) {
    t = Timer{};
    t.cmp = ~uint64_t(0);  // comparators reset to all ones (as QEMU's)
  }
}

// GCAP_ID[31:0]: revision 1, NUM_TIM_CAP = timers - 1, 64-bit counter
// (COUNT_SIZE_CAP), legacy replacement capable, vendor 8086h (spec 2.3.4).
uint32_t Hpet::capabilities_low() {
  return 0x01 | ((TIMERS - 1) << 8) | (1u << 13) | (1u << 15) | (0x8086u << 16);
}

uint64_t Hpet::counter(uint64_t now_ns) const {
  if (!enabled() || now_ns <= counter_base_ns_) return counter_base_;
  return counter_base_ + (now_ns - counter_base_ns_) / NS_PER_TICK;
}

void Hpet::set_deadline(unsigned n) {
  Timer& t = timers_[n];
  if (!enabled() || !t.armed) {
    t.deadline_ns = UINT64_MAX;
    return;
  }
  const uint64_t ticks = t.target - counter_base_;
  // A match further away than the ns clock reaches is never.
  if (ticks > (UINT64_MAX - counter_base_ns_) / NS_PER_TICK) t.deadline_ns = UINT64_MAX;
  else t.deadline_ns = counter_base_ns_ + ticks * NS_PER_TICK;
}

// The next counter value, from the current one on, at which the comparator
// matches: in 32-bit mode only the low 32 bits compare, so a match comes
// round again every 2^32 ticks; a 64-bit comparator behind the counter
// never matches again (the counter would have to wrap).
void Hpet::rearm(unsigned n, uint64_t now_ns) {
  Timer& t = timers_[n];
  const uint64_t c = counter(now_ns);
  if (t.config & TN_32MODE) {
    t.target = (c & ~LOW32) | (t.cmp & LOW32);
    if (t.target < c) t.target += LOW32 + 1;
    t.armed = true;
  } else {
    t.target = t.cmp;
    t.armed = t.cmp >= c;
  }
  set_deadline(n);
}

void Hpet::drive(unsigned n, bool level) {
  Timer& t = timers_[n];
  if (t.line == level) return;
  t.line = level;
  if (legacy_replacement() && n < 2) {
    if (cb_.legacy_irq) cb_.legacy_irq(n == 0 ? 0 : 8, level);
  } else if (cb_.ioapic_irq) {
    cb_.ioapic_irq(unsigned((t.config & TN_INT_ROUTE) >> TN_INT_ROUTE_SHIFT), level);
  }
}

void Hpet::fire(unsigned n, uint64_t now_ns) {
  Timer& t = timers_[n];
  const uint64_t c = counter(now_ns);
  const uint64_t mask = (t.config & TN_32MODE) ? LOW32 : ~uint64_t(0);
  if ((t.config & TN_TYPE_PERIODIC) && t.period) {
    // Periodic: the comparator advances by the period at each match
    // (spec 2.3.9.2.2); matches missed while nobody looked merge into one.
    const uint64_t missed = c > t.target ? (c - t.target) / t.period : 0;
    t.target += (missed + 1) * t.period;
    t.cmp = t.target & mask;
    t.armed = true;
  } else if (t.config & TN_32MODE) {
    t.target += LOW32 + 1;  // matches again when the low 32 bits come round
  } else {
    t.armed = false;
  }
  set_deadline(n);
  const bool level = t.config & TN_INT_TYPE_LEVEL;
  if (level) isr_ |= 1u << n;  // status is set even with the interrupt disabled
  if (!(t.config & TN_INT_ENB)) return;
  if (level) {
    drive(n, true);  // held until software clears GINTR_STA
  } else {
    drive(n, true);  // an edge: a pulse
    drive(n, false);
  }
}

uint64_t Hpet::next_deadline_ns() const {
  uint64_t d = UINT64_MAX;
  for (const Timer& t : timers_) d = t.deadline_ns < d ? t.deadline_ns : d;
  return d;
}

void Hpet::tick(uint64_t now_ns) {
  for (unsigned n = 0; n < TIMERS; ++n)
    if (timers_[n].deadline_ns <= now_ns) fire(n, now_ns);
}

uint64_t Hpet::read64(uint64_t now_ns, uint64_t reg) {
  switch (reg) {
    case GCAP_ID: return (uint64_t(PERIOD_FS) << 32) | capabilities_low();
    case GEN_CONF: return gen_conf_;
    case GINTR_STA: return isr_;
    case MAIN_COUNTER: return counter(now_ns);
    default: break;
  }
  if (reg >= TIMER_BASE && reg < TIMER_BASE + TIMERS * TIMER_STRIDE) {
    const Timer& t = timers_[(reg - TIMER_BASE) / TIMER_STRIDE];
    switch ((reg - TIMER_BASE) % TIMER_STRIDE) {
      case TN_CONF: return (t.config & ~TN_VAL_SET) | TN_PER_INT_CAP | TN_SIZE_CAP | route_cap();
      case TN_CMP: return (t.config & TN_32MODE) ? (t.cmp & LOW32) : t.cmp;
      default: return 0;  // FSB route: not offered
    }
  }
  return 0;
}

void Hpet::write_timer_config(uint64_t now_ns, unsigned n, uint64_t value) {
  Timer& t = timers_[n];
  uint64_t v = value & TN_WRITABLE;
  // A route the capability field does not allow keeps the old route.
  const unsigned route = unsigned((v & TN_INT_ROUTE) >> TN_INT_ROUTE_SHIFT);
  if (!((ROUTE_CAP >> route) & 1)) v = (v & ~TN_INT_ROUTE) | (t.config & TN_INT_ROUTE);
  const bool was_line = t.line;
  if (was_line) drive(n, false);  // re-driven below on the (possibly new) route
  const uint64_t old = t.config;
  t.config = v;
  if (t.config & TN_32MODE) t.cmp &= LOW32;
  const bool level = t.config & TN_INT_TYPE_LEVEL;
  if (level && (t.config & TN_INT_ENB) && (isr_ & (1u << n))) drive(n, true);
  if (!level) isr_ &= ~(uint64_t(1) << n);
  // Only a change of the comparator's meaning re-arms it (re-arming on
  // every write would repeat a match that happened this very tick).
  if ((old ^ t.config) & (TN_32MODE | TN_TYPE_PERIODIC)) rearm(n, now_ns);
}

void Hpet::write64(uint64_t now_ns, uint64_t reg, uint64_t value, uint64_t mask) {
  const uint64_t v = value & mask;
  switch (reg) {
    case GEN_CONF: {
      const uint64_t old = gen_conf_;
      const uint64_t next = ((gen_conf_ & ~mask) | v) & (ENABLE_CNF | LEG_RT_CNF);
      if ((old ^ next) & ENABLE_CNF) {
        if (next & ENABLE_CNF) counter_base_ns_ = now_ns;  // starts counting from here
        else counter_base_ = counter(now_ns);             // halts at its current value
      }
      // Lines move between the legacy and the I/O APIC routes.
      bool lines[TIMERS];
      for (unsigned n = 0; n < TIMERS; ++n) {
        lines[n] = timers_[n].line;
        if ((old ^ next) & LEG_RT_CNF) drive(n, false);
      }
      gen_conf_ = next;
      for (unsigned n = 0; n < TIMERS; ++n) {
        if ((old ^ next) & LEG_RT_CNF) drive(n, lines[n]);
        if ((old ^ next) & ENABLE_CNF) rearm(n, now_ns);
      }
      return;
    }
    case GINTR_STA:
      for (unsigned n = 0; n < TIMERS; ++n)
        if (v & (uint64_t(1) << n)) {
          isr_ &= ~(uint64_t(1) << n);  // write 1 to clear; a level line drops
          drive(n, false);
        }
      return;
    case MAIN_COUNTER:
      // Software should write it only while halted (spec 2.3.7); softvt
      // takes the value either way and re-arms every comparator.
      counter_base_ = (counter(now_ns) & ~mask) | v;
      counter_base_ns_ = now_ns;
      for (unsigned n = 0; n < TIMERS; ++n) rearm(n, now_ns);
      return;
    default: break;
  }
  if (reg < TIMER_BASE || reg >= TIMER_BASE + TIMERS * TIMER_STRIDE) return;
  const unsigned n = unsigned((reg - TIMER_BASE) / TIMER_STRIDE);
  Timer& t = timers_[n];
  switch ((reg - TIMER_BASE) % TIMER_STRIDE) {
    case TN_CONF: write_timer_config(now_ns, n, (t.config & ~mask) | v); return;
    case TN_CMP: {
      uint64_t m = mask, nv = v;
      if (t.config & TN_32MODE) { m &= LOW32; nv &= LOW32; }
      // One-shot, or periodic with VAL_SET: the write sets the comparator;
      // in periodic mode it always sets the period too (spec 2.3.9.2.2; the
      // same reading as QEMU's, which Linux's HPET driver relies on).
      if (!(t.config & TN_TYPE_PERIODIC) || (t.config & TN_VAL_SET)) t.cmp = (t.cmp & ~m) | nv;
      t.period = (t.period & ~m) | nv;
      t.config &= ~TN_VAL_SET;
      rearm(n, now_ns);
      return;
    }
    default: return;
  }
}

uint64_t Hpet::mmio_read(uint64_t now_ns, uint64_t offset, unsigned size) {
  tick(now_ns);
  const unsigned shift = unsigned(offset & 7) * 8;
  const uint64_t v = read64(now_ns, offset & ~uint64_t(7)) >> shift;
  return size >= 8 ? v : v & ((uint64_t(1) << (8 * size)) - 1);
}

void Hpet::mmio_write(uint64_t now_ns, uint64_t offset, unsigned size, uint64_t value) {
  tick(now_ns);
  const unsigned shift = unsigned(offset & 7) * 8;
  const uint64_t mask = (size >= 8 ? ~uint64_t(0) : (uint64_t(1) << (8 * size)) - 1) << shift;
  write64(now_ns, offset & ~uint64_t(7), value << shift, mask);
}

}  // namespace softvt
