// The inputs of a PC run that do not follow from its image and options
// (DESIGN.md "Determinism"): the bytes COM1 receives from outside the
// machine (standard input), under `--clock host` every reading of the
// host's clocks, and a Ctrl-C that stops the run. A recording notes each at the point it enters the machine
// (traces/recorder.h); a replay supplies the recorded ones instead of the
// host's, so the replayed machine sees the same inputs at the same points
// (traces/README.md "Inputs").
//
// The machine takes its inputs at places of its run that do not depend on
// where the run was stopped and resumed (Pc::run: the work between two
// slices is done once per slice boundary, however many run() calls reach
// it), so the n-th input of a re-execution from a snapshot is the n-th
// input of the first run: under gdb, traces/trace_gate.h numbers them and
// feeds a re-execution the ones taken before.
#pragma once
#include <cstdint>
#include <functional>

namespace softvt {

class Cpu;

// The host clocks a PC reads.
enum class HostReading : uint8_t {
  MonotonicNs = 0,  // guest time under --clock host: host ns since power-on
  WallSeconds = 1,  // the RTC's start under --clock host: seconds since 1970
};

// Up to `room` bytes that `live` has now (it returns -1 when it has none),
// stored in `out`; returns how many. The one way a COM1 look reads the
// host's serial source, with or without an input log.
inline unsigned read_live_bytes(const std::function<int()>& live, uint8_t* out, unsigned room) {
  unsigned n = 0;
  for (int b; n < room && live && (b = live()) >= 0;) out[n++] = uint8_t(b);
  return n;
}

class InputLog {
 public:
  virtual ~InputLog() = default;
  // True when the log supplies the inputs (a replay): the machine then
  // reads neither the host clocks nor its serial source, and never sleeps
  // waiting for host time.
  virtual bool replaying() const = 0;
  // Whether the next input comes from the log rather than from the host:
  // a replay, or (under gdb) the re-execution of inputs taken before. The
  // machine does not wait for host time then.
  virtual bool supplies_next() const { return replaying(); }
  // A host-clock reading the machine takes while `running` is its current
  // CPU: returns the value to use. Recording: `live()`, noted. Replay: the
  // recorded value (`live` is not called).
  virtual uint64_t host_reading(const Cpu& running, HostReading kind, const std::function<uint64_t()>& live) = 0;
  // The machine's `poll`-th look for COM1 input (counted from 0), with room
  // for `room` bytes in the receiver: stores the bytes received now in
  // `out` and returns how many. Recording: up to `room` bytes from `live`
  // (-1: none available now), noted if any. Replay: the bytes recorded at
  // this poll (`live` is not called).
  virtual unsigned serial_input(const Cpu& running, uint64_t poll, uint8_t* out, unsigned room,
                                const std::function<int()>& live) = 0;
  // Whether the run stops here (between slices) at the user's request:
  // `live` says whether SIGINT (Ctrl-C) came. Recording: `live`, noted if
  // true. Replay: true where the recording stopped (or at a live Ctrl-C).
  virtual bool stop_requested(const Cpu& running, bool live) = 0;
};

}  // namespace softvt
