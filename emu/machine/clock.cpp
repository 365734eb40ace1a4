#include "emu/machine/clock.h"

#include <thread>

namespace softvt {

bool parse_clock_source(const std::string& text, ClockSource& out) {
  if (text == "insns" || text == "instructions") out = ClockSource::Instructions;
  else if (text == "host") out = ClockSource::Host;
  else return false;
  return true;
}

Clock::Clock(const uint64_t* insn_counter, ClockSource source)
    : insns_(insn_counter), source_(source), start_(std::chrono::steady_clock::now()) {}

uint64_t Clock::host_elapsed_ns() const {
  return uint64_t(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start_).count());
}

void Clock::set_host_source(std::function<uint64_t()> read, bool sleeps) {
  host_source_ = std::move(read);
  sleeps_ = sleeps;
}

uint64_t Clock::now() const {
  if (source_ == ClockSource::Host) return host_source_ ? host_source_() : host_elapsed_ns();
  return (*insns_ + counter_offset_) * NS_PER_INSN + skipped_;
}

void Clock::set_counter(const uint64_t* insn_counter) {
  counter_offset_ = *insns_ + counter_offset_ - *insn_counter;
  insns_ = insn_counter;
}

Clock::TimerId Clock::add_timer(std::function<void(uint64_t)> callback) {
  timers_.push_back(Timer{NEVER, std::move(callback)});
  return TimerId(timers_.size() - 1);
}

void Clock::arm(TimerId id, uint64_t when_ns) {
  const uint64_t before = next_deadline();
  timers_[id].when = when_ns;
  if (when_ns < before && on_earlier_deadline) on_earlier_deadline();
}

void Clock::disarm(TimerId id) { timers_[id].when = NEVER; }

uint64_t Clock::next_deadline() const {
  uint64_t d = NEVER;
  for (const Timer& t : timers_)
    if (t.when < d) d = t.when;
  return d;
}

unsigned Clock::fire_expired() {
  unsigned fired = 0;
  for (;;) {
    const uint64_t t = now();
    Timer* due = nullptr;
    for (Timer& tm : timers_)
      if (tm.when <= t && (!due || tm.when < due->when)) due = &tm;
    if (!due) return fired;
    due->when = NEVER;  // a periodic device re-arms it from the callback
    due->callback(t);
    ++fired;
  }
}

void Clock::idle_until(uint64_t when_ns, unsigned max_sleep_ms) {
  const uint64_t t = now();
  if (when_ns <= t) return;
  if (source_ == ClockSource::Instructions) {
    skipped_ += when_ns - t;
    return;
  }
  if (!sleeps_) return;
  const uint64_t wait = std::min<uint64_t>(when_ns - t, uint64_t(max_sleep_ms) * 1000000);
  std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
}

uint64_t ns_to_ticks(uint64_t ns, uint64_t hz) {
  return uint64_t((unsigned __int128)ns * hz / 1000000000u);
}

uint64_t ticks_to_ns(uint64_t ticks, uint64_t hz) {
  // The smallest ns with ns_to_ticks(ns) >= ticks.
  return uint64_t(((unsigned __int128)ticks * 1000000000u + hz - 1) / hz);
}

}  // namespace softvt
