// The local APIC timer (SDM 11.5.4): one-shot, periodic and TSC-deadline
// modes, the divide configuration, the current count derived from guest
// time, and the expiry signalled at exactly its deadline.
//
// The counter is kept as (timer_base_ns_, timer_base_count_): at guest time
// base the count was base_count; it then decrements once per `divide` bus
// clocks. In periodic mode it reloads the initial count when it reaches 0.
// A divide or mode change re-bases it at the current count, so the count
// continues (a fraction of a count in progress is dropped).
#include "emu/devices/lapic.h"

namespace softvt {

using namespace apic;

namespace {
constexpr uint64_t NS_PER_S = 1000000000;
}

// Divide configuration bits 3, 1:0 (SDM Figure 11-10): 111b = 1, else
// 2^(value+1).
unsigned LocalApic::divide() const {
  const unsigned v = ((divide_config_ >> 1) & 4) | (divide_config_ & 3);
  return v == 7 ? 1 : 2u << v;
}

uint64_t LocalApic::timer_ticks_since_base(uint64_t now_ns) const {
  if (now_ns <= timer_base_ns_) return 0;
  const unsigned __int128 dt = now_ns - timer_base_ns_;
  return uint64_t(dt * config_.bus_hz / (unsigned __int128)(NS_PER_S * divide()));
}

// The first time (relative to the base) at which `ticks` counts have passed.
uint64_t LocalApic::ns_for_ticks(uint64_t ticks) const {
  const unsigned __int128 num = (unsigned __int128)ticks * divide() * NS_PER_S;
  return uint64_t((num + config_.bus_hz - 1) / config_.bus_hz);
}

uint32_t LocalApic::current_count(uint64_t now_ns) const {
  // In TSC-deadline mode the current count reads 0 (SDM 11.5.4.1).
  if (timer_mode() == TimerMode::TscDeadline || timer_base_count_ == 0) return 0;
  const uint64_t e = timer_ticks_since_base(now_ns);
  if (e < timer_base_count_) return uint32_t(timer_base_count_ - e);
  if (timer_mode() != TimerMode::Periodic || initial_count_ == 0) return 0;
  return uint32_t(initial_count_ - (e - timer_base_count_) % initial_count_);
}

void LocalApic::stop_timer() {
  timer_base_count_ = 0;
  timer_fired_ = 0;
  timer_deadline_ns_ = UINT64_MAX;
}

void LocalApic::restart_timer(uint64_t now_ns, uint32_t count) {
  timer_base_ns_ = now_ns;
  timer_base_count_ = count;
  timer_fired_ = 0;
  arm_counter_deadline();
}

void LocalApic::rebase_timer(uint64_t now_ns) {
  if (timer_mode() == TimerMode::TscDeadline || timer_base_count_ == 0) return;
  const uint32_t c = current_count(now_ns);
  if (c == 0) {
    stop_timer();  // a one-shot count that already expired stays expired
    return;
  }
  restart_timer(now_ns, c);
}

void LocalApic::arm_counter_deadline() {
  if (timer_mode() == TimerMode::TscDeadline || timer_base_count_ == 0) {
    if (timer_mode() != TimerMode::TscDeadline) timer_deadline_ns_ = UINT64_MAX;
    return;
  }
  const bool periodic = timer_mode() == TimerMode::Periodic && initial_count_ != 0;
  if (!periodic && timer_fired_ > 0) {
    timer_deadline_ns_ = UINT64_MAX;
    return;
  }
  const uint64_t target = timer_base_count_ + timer_fired_ * uint64_t(initial_count_);
  timer_deadline_ns_ = timer_base_ns_ + ns_for_ticks(target);
}

uint64_t LocalApic::read_tsc() const { return cpu_ ? cpu_->tsc() : 0; }

void LocalApic::arm_tsc_deadline(uint64_t now_ns) {
  if (tsc_deadline_ == 0) {
    timer_deadline_ns_ = UINT64_MAX;
    return;
  }
  const uint64_t tsc = read_tsc();
  if (tsc >= tsc_deadline_) {
    timer_deadline_ns_ = now_ns;
    return;
  }
  const unsigned __int128 num = (unsigned __int128)(tsc_deadline_ - tsc) * NS_PER_S;
  timer_deadline_ns_ = now_ns + uint64_t((num + config_.tsc_hz - 1) / config_.tsc_hz);
}

// IA32_TSC_DEADLINE (SDM 11.5.4.1): ignored outside TSC-deadline mode; 0
// disarms; a deadline already passed fires at once.
void LocalApic::write_tsc_deadline(uint64_t now_ns, uint64_t value) {
  if (timer_mode() != TimerMode::TscDeadline) return;
  tsc_deadline_ = value;
  arm_tsc_deadline(now_ns);
  if (now_ns >= timer_deadline_ns_) tick(now_ns);
}

void LocalApic::tsc_changed(uint64_t now_ns) {
  if (timer_mode() != TimerMode::TscDeadline) return;
  arm_tsc_deadline(now_ns);
  if (now_ns >= timer_deadline_ns_) tick(now_ns);
}

void LocalApic::tick(uint64_t now_ns) {
  if (now_ns < timer_deadline_ns_) return;
  if (timer_mode() == TimerMode::TscDeadline) {
    if (tsc_deadline_ != 0 && read_tsc() >= tsc_deadline_) {
      // Expiry disarms: the MSR reads 0 afterwards (SDM 11.5.4.1).
      tsc_deadline_ = 0;
      timer_deadline_ns_ = UINT64_MAX;
      deliver_lvt(LVT_TIMER_I);
    } else {
      arm_tsc_deadline(now_ns);  // the TSC has not got there yet
    }
    return;
  }
  const bool periodic = timer_mode() == TimerMode::Periodic && initial_count_ != 0;
  if (periodic) {
    // Expiries missed while nobody called tick() merge into one interrupt.
    const uint64_t e = timer_ticks_since_base(now_ns);
    timer_fired_ = (e - timer_base_count_) / initial_count_ + 1;
  } else {
    timer_fired_ = 1;
  }
  arm_counter_deadline();
  deliver_lvt(LVT_TIMER_I);
}

}  // namespace softvt
