// Guest time (DESIGN.md "Determinism"): by default it derives from the
// retired-instruction count, one instruction = one nanosecond (a 1 GHz
// guest), so two runs of the same image see the same times at the same
// instructions. While every CPU is halted the clock jumps to the next
// timer deadline instead of waiting. `--clock host` makes guest time the
// host's monotonic time since power-on (not deterministic).
//
// Devices never poll: each owns timers armed at absolute guest times; the
// machine's run loop executes the CPU up to the earliest deadline and then
// fires the expired timers (docs/decisions.md "Guest time").
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace softvt {

enum class ClockSource : uint8_t { Instructions, Host };
bool parse_clock_source(const std::string& text, ClockSource& out);

class Clock {
 public:
  static constexpr uint64_t NS_PER_INSN = 1;
  static constexpr uint64_t NEVER = ~uint64_t(0);
  using TimerId = unsigned;

  // `insn_counter`: the retired-instruction count time derives from (the
  // CPU's s.insn_count; a test passes its own variable).
  explicit Clock(const uint64_t* insn_counter, ClockSource source = ClockSource::Instructions);

  ClockSource source() const { return source_; }
  // --clock host: take readings (ns since power-on) from `read` instead of
  // the host's steady clock directly (a recording notes them, a replay
  // supplies them: emu/machine/input_log.h); `sleeps`: whether idle_until
  // waits for host time (a replay is told the time, it does not wait).
  void set_host_source(std::function<uint64_t()> read, bool sleeps);
  // The host's steady clock: ns since this clock was made.
  uint64_t host_elapsed_ns() const;
  // Derive time from another counter from now on (the machine switches to
  // the CPU it runs next), keeping now() unchanged at the switch.
  void set_counter(const uint64_t* insn_counter);
  // Guest nanoseconds since power-on.
  uint64_t now() const;

  // Timers: a callback run by fire_expired() once guest time reaches the
  // armed deadline (in deadline order, ties in creation order).
  TimerId add_timer(std::function<void(uint64_t now)> callback);
  void arm(TimerId id, uint64_t when_ns);
  void disarm(TimerId id);
  bool armed(TimerId id) const { return timers_[id].when != NEVER; }
  uint64_t next_deadline() const;
  // Runs every timer whose deadline has passed; returns how many ran.
  unsigned fire_expired();

  // All CPUs are halted: advance guest time to `when_ns` (deterministic:
  // a jump, accounted in skipped(); host: sleep, in slices of at most
  // `max_sleep_ms` so the caller can look at signals).
  void idle_until(uint64_t when_ns, unsigned max_sleep_ms = 20);
  // Nanoseconds added by idle_until jumps (the TSC adds them too).
  uint64_t skipped() const { return skipped_; }

  // Called when a timer is armed earlier than the previous next deadline
  // (the run loop shortens the CPU's current slice).
  std::function<void()> on_earlier_deadline;

  // Snapshots (emu/machine/state_io.h): the fields that change as the
  // machine runs.
  template <class Io>
  void state_io(Io& io) {
    io(insns_);
    io(counter_offset_);
    io(skipped_);
    for (Timer& t : timers_) io(t.when);
  }

 private:
  struct Timer {
    uint64_t when = NEVER;
    std::function<void(uint64_t)> callback;
  };
  const uint64_t* insns_;
  uint64_t counter_offset_ = 0;  // added to *insns_ (mod 2^64) after set_counter
  ClockSource source_;
  uint64_t skipped_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::function<uint64_t()> host_source_;  // set_host_source
  bool sleeps_ = true;
  std::vector<Timer> timers_;
};

// Ticks of a clock of `hz` elapsed at `ns`, and the first nanosecond at
// which `ticks` have elapsed (exact integer arithmetic).
uint64_t ns_to_ticks(uint64_t ns, uint64_t hz);
uint64_t ticks_to_ns(uint64_t ticks, uint64_t hz);

}  // namespace softvt
