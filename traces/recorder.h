// Tracers that turn what a run does into trace records (traces/format.h):
// TraceWriter writes them to a file (`softvt run --record FILE`),
// TraceChecker compares them with a recording as the run goes
// (`softvt replay FILE`) and stops the run at the first difference.
#pragma once
#include <array>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "emu/cpu.h"
#include "emu/machine/input_log.h"
#include "traces/format.h"

namespace softvt::trace {

// Also the machine's input log (emu/machine/input_log.h): a recording
// notes each input as a SerialIn/HostClock record where it enters the
// machine; TraceChecker supplies the recorded ones in a replay.
class RecordingTracer : public Cpu::Tracer, public InputLog {
 public:
  explicit RecordingTracer(uint64_t flags) { set_flags(flags); }
  // Hooks `mem`'s MMIO observer (the accesses are the current CPU's).
  void attach_memory(Memory& mem);
  // Emits the End record.
  void end(StopReason stop, uint64_t total_insns, const std::string& detail);

  void insn(const Cpu&, uint64_t rip, uint64_t phys, const uint8_t* bytes, unsigned len) override;
  void exception(const Cpu&, const GuestException&) override;
  void note(const Cpu&, const std::string&) override;
  void interrupt(const Cpu&, uint8_t vector, EventType type) override;
  void vm_entry(const Cpu&, VmEntryKind) override;
  void vm_exit(const Cpu&, VmArch, uint64_t reason, uint64_t qualification) override;
  void vm_entry_failed(const Cpu&, const char* check) override;
  void io(const Cpu&, uint16_t port, unsigned size, uint64_t value, bool write) override;
  void mem_write(const Cpu&, uint64_t lin, unsigned size, uint64_t value) override;

  bool replaying() const override { return false; }
  uint64_t host_reading(const Cpu& running, HostReading kind, const std::function<uint64_t()>& live) override;
  unsigned serial_input(const Cpu& running, uint64_t poll, uint8_t* out, unsigned room,
                        const std::function<int()>& live) override;
  bool stop_requested(const Cpu& running, bool live) override;

 protected:
  virtual void emit(const Record& r) = 0;
  // An instruction (by default as a Record through emit()).
  virtual void emit_insn(uint32_t cpu, uint64_t icount, uint64_t rip, uint64_t phys, const uint8_t* bytes,
                         unsigned len);
  void set_flags(uint64_t flags) {
    flags_ = flags;
    wants_writes = flags & header_flag::MEM;
  }

  struct CpuTrack {
    bool seen = false;
    uint8_t mode = 0xff;
    uint64_t icount = 0;
    // An event of this CPU (exception, interrupt, VM entry or exit, I/O,
    // MMIO) since its last Regs point: the next one compares all
    // registers, whatever the run loop says of the instruction before (a
    // second guard: the run loop already drops the sequence at each
    // event; an MMIO device may change more than the instruction's
    // operands).
    bool regs_unsettled = false;
    // The last instruction reported (emu/insn_sequence.h) and its block run.
    const Insn* last_reported = nullptr;
    uint64_t block_run = 0;
    std::array<uint64_t, treg::COUNT> regs{};
  };
  CpuTrack& track(const Cpu& cpu) { return cpus_[cpu.initial_apic_id]; }
  // A Mode record: the CPU runs in a mode other than its last instruction's.
  void emit_mode(const Cpu& cpu, CpuTrack& t);
  // A record of kind `k` at `cpu`'s current instruction count.
  static Record event(const Cpu& cpu, Kind k);
  uint64_t flags_;
  uint32_t cur_cpu_ = 0;  // the CPU of the last instruction (MMIO accesses)

 private:
  void emit_register_changes(const Cpu& cpu, CpuTrack& t);
  std::array<CpuTrack, MAX_CPU + 1> cpus_{};
  Record insn_{};         // reused for every instruction (no allocation)
  Record regs_{};         // reused for register changes (keeps its capacity)
};

class TraceWriter final : public RecordingTracer {
 public:
  // Opens `path` and writes the header; throws std::runtime_error naming it.
  TraceWriter(const std::string& path, const TraceHeader& header);
  ~TraceWriter() override;
  // Flushes and closes; false if a write failed (a full disk).
  bool finish();
  uint64_t bytes_written() const { return written_; }
  // RecordingTracer::insn with the encoder called directly: the hot path
  // of a recording (bench/trace_overhead.sh).
  void insn(const Cpu& cpu, uint64_t rip, uint64_t phys, const uint8_t* bytes, unsigned len) override;

 protected:
  void emit(const Record& r) override;
  void emit_insn(uint32_t cpu, uint64_t icount, uint64_t rip, uint64_t phys, const uint8_t* bytes,
                 unsigned len) override;

 private:
  void drain();
  // The instruction that ran just before `cpu`'s current one with nothing
  // between (emu/insn_sequence.h), or nullptr; notes the current one.
  static const Insn* previous_insn(const Cpu& cpu, CpuTrack& t);
  [[gnu::noinline]] void insn_in_full(const Cpu& cpu, CpuTrack& t, uint64_t rip, uint64_t phys,
                                      const uint8_t* bytes, unsigned len);
  void encode_register_changes(const Cpu& cpu, CpuTrack& t);
  std::FILE* f_;
  TraceEncoder enc_;
  uint64_t written_ = 0;
  bool ok_ = true;
};

// Thrown by TraceChecker at the first record the run does not retrace.
struct ReplayDivergence {
  std::string what;                 // one line: what differs
  std::vector<Record> context;      // the records before it (equal on both sides)
  bool has_expected = false, has_actual = false;
  Record expected, actual;          // the recording's and the replay's record
  std::vector<Record> expected_after;  // the recording's next records
  std::vector<uint8_t> modes;          // each CPU's mode at the divergence (Mode values; 0xff unknown)
};

class TraceChecker : public RecordingTracer {
 public:
  // `data` holds the whole recording (it must outlive the checker).
  TraceChecker(const std::vector<uint8_t>& data, const std::string& file);
  const TraceHeader& header() const { return dec_.header(); }
  // After the run: throws ReplayDivergence if the recording goes on.
  void check_complete();
  uint64_t records_checked() const { return checked_; }
  // The record (an instruction) the replay got to, checked last.
  const Record* last_checked_insn() const { return last_insn_.len ? &last_insn_ : nullptr; }
  // The debugger ended the run before the recording's end: the End record
  // is not compared (softvt replay --gdb, then gdb's kill).
  void stop_early() { stopped_early_ = true; }
  bool stopped_early() const { return stopped_early_; }
  bool diverged() const { return first_divergence_ != nullptr; }
  // Where the CPU `cpu`, at instruction count `icount` with RIP `rip`, is
  // in the recording: the index and text of the record of its next
  // instruction, how far the replay was checked, the recording's length
  // (monitor trace-position). Decodes the recording from its start.
  std::string describe_position(uint32_t cpu, uint64_t icount, uint64_t rip) const;

  // The inputs come from the recording (traces/README.md "Inputs"): each
  // host-clock reading must be the recording's next record; the serial
  // bytes of a poll are those the recording received at that poll.
  bool replaying() const override { return true; }
  uint64_t host_reading(const Cpu& running, HostReading kind, const std::function<uint64_t()>& live) override;
  unsigned serial_input(const Cpu& running, uint64_t poll, uint8_t* out, unsigned room,
                        const std::function<int()>& live) override;
  bool stop_requested(const Cpu& running, bool live) override;

 protected:
  void emit(const Record& r) override;

 private:
  [[noreturn]] void diverge(const std::string& what, const Record* expected, const Record* actual);
  // At the run's end: inputs a recording took after the run's last
  // instruction (recorder.cpp) are passed over.
  void skip_inputs_after_the_run();
  // The recording's next record, taken (false after its end) / looked at.
  bool take_expected(Record& r);
  const Record* peek_expected();
  // A record of the replay equal to the recording's next one: taken and counted.
  void accept(const Record& want);
  const std::vector<uint8_t>& data_;
  std::string file_;
  TraceDecoder dec_;
  Record last_insn_{};
  Record lookahead_{};
  bool has_lookahead_ = false;
  bool stopped_early_ = false;
  // After the first divergence every further record is that one again
  // (the End of a run stopped there included).
  std::shared_ptr<ReplayDivergence> first_divergence_;
  std::deque<Record> recent_;
  uint64_t checked_ = 0;
  std::vector<uint8_t> modes_ = std::vector<uint8_t>(MAX_CPU + 1, 0xff);
};

// Forwards everything to two tracers (--trace and --record together).
class TeeTracer : public Cpu::Tracer {
 public:
  TeeTracer(Cpu::Tracer& a, Cpu::Tracer& b) : a_(a), b_(b) { wants_writes = a.wants_writes || b.wants_writes; }
  void insn(const Cpu& c, uint64_t rip, uint64_t phys, const uint8_t* bytes, unsigned len) override {
    a_.insn(c, rip, phys, bytes, len), b_.insn(c, rip, phys, bytes, len);
  }
  void exception(const Cpu& c, const GuestException& e) override { a_.exception(c, e), b_.exception(c, e); }
  void note(const Cpu& c, const std::string& m) override { a_.note(c, m), b_.note(c, m); }
  void interrupt(const Cpu& c, uint8_t v, EventType t) override { a_.interrupt(c, v, t), b_.interrupt(c, v, t); }
  void vm_entry(const Cpu& c, VmEntryKind k) override { a_.vm_entry(c, k), b_.vm_entry(c, k); }
  void vm_exit(const Cpu& c, VmArch arch, uint64_t r, uint64_t q) override {
    a_.vm_exit(c, arch, r, q), b_.vm_exit(c, arch, r, q);
  }
  void vm_entry_failed(const Cpu& c, const char* k) override { a_.vm_entry_failed(c, k), b_.vm_entry_failed(c, k); }
  void io(const Cpu& c, uint16_t p, unsigned s, uint64_t v, bool w) override { a_.io(c, p, s, v, w), b_.io(c, p, s, v, w); }
  void mem_write(const Cpu& c, uint64_t l, unsigned s, uint64_t v) override {
    a_.mem_write(c, l, s, v), b_.mem_write(c, l, s, v);
  }

 private:
  Cpu::Tracer& a_;
  Cpu::Tracer& b_;
};

}  // namespace softvt::trace
