#include "traces/recorder.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "traces/reg_writes.h"

namespace softvt::trace {

namespace {

// The writer's buffer goes to the file at 1 MiB (the encoder reserves 2).
constexpr size_t DRAIN_AT = size_t(1) << 20;

void snapshot(const CpuState& s, std::array<uint64_t, treg::COUNT>& v) {
  for (unsigned i = 0; i < 16; ++i) v[i] = s.gpr[i];
  v[treg::RFLAGS] = s.rflags;
  v[treg::CR0] = s.cr0;
  v[treg::CR2] = s.cr2;
  v[treg::CR3] = s.cr3;
  v[treg::CR4] = s.cr4;
  v[treg::EFER] = s.efer;
  for (unsigned i = 0; i < 6; ++i) v[treg::ES + i] = s.seg[i].sel;
  v[treg::FS_BASE] = s.seg[FS].base;
  v[treg::GS_BASE] = s.seg[GS].base;
}

}  // namespace

// ---- RecordingTracer ---------------------------------------------------------

void RecordingTracer::attach_memory(Memory& mem) {
  mem.on_mmio = [this](uint64_t phys, unsigned size, uint64_t value, bool write) {
    Record r;
    r.kind = Kind::Mmio;
    r.cpu = cur_cpu_;
    r.icount = cpus_[cur_cpu_].icount;
    r.sub = uint8_t(size | (write ? 0x80 : 0));
    r.a = phys;
    r.b = value;
    // A device may have changed what the instruction's operands do not name.
    cpus_[cur_cpu_].regs_unsettled = true;
    emit(r);
  };
}

Record RecordingTracer::event(const Cpu& cpu, Kind k) {
  Record r;
  r.kind = k;
  r.cpu = cpu.initial_apic_id;
  r.icount = cpu.s.insn_count;
  return r;
}

void RecordingTracer::emit_register_changes(const Cpu& cpu, CpuTrack& t) {
  std::array<uint64_t, treg::COUNT> now;
  snapshot(cpu.s, now);
  Record& r = regs_;
  r.kind = Kind::Regs;
  r.cpu = cpu.initial_apic_id;
  r.icount = cpu.s.insn_count;
  r.regs.clear();
  for (unsigned i = 0; i < treg::COUNT; ++i)
    if (!t.seen || now[i] != t.regs[i]) r.regs.push_back(RegValue{uint8_t(i), now[i]});
  t.regs = now;
  if (!r.regs.empty()) emit(r);
}

void RecordingTracer::insn(const Cpu& cpu, uint64_t rip, uint64_t phys, const uint8_t* bytes, unsigned len) {
  CpuTrack& t = track(cpu);
  cur_cpu_ = cpu.initial_apic_id;
  if (flags_ & header_flag::REGS) emit_register_changes(cpu, t);
  t.seen = true;
  if (uint8_t(cpu.s.mode) != t.mode) emit_mode(cpu, t);
  t.icount = cpu.s.insn_count;
  emit_insn(cur_cpu_, t.icount, rip, phys, bytes, len > 15 ? 15 : len);
}

void RecordingTracer::emit_mode(const Cpu& cpu, CpuTrack& t) {
  t.mode = uint8_t(cpu.s.mode);
  Record m = event(cpu, Kind::Mode);
  m.sub = t.mode;
  emit(m);
}

void RecordingTracer::emit_insn(uint32_t cpu, uint64_t icount, uint64_t rip, uint64_t phys, const uint8_t* bytes,
                                unsigned len) {
  insn_.cpu = cpu;
  insn_.icount = icount;
  insn_.rip = rip;
  insn_.phys = phys;
  insn_.len = uint8_t(len);
  std::memcpy(insn_.bytes, bytes, len);
  emit(insn_);
}

void RecordingTracer::exception(const Cpu& cpu, const GuestException& e) {
  track(cpu).regs_unsettled = true;
  Record r = event(cpu, Kind::Exception);
  r.vector = e.vector;
  r.error = e.error_code;
  if (e.vector == vec::PF) r.a = e.cr2;
  emit(r);
}

void RecordingTracer::note(const Cpu& cpu, const std::string& text) {
  Record r = event(cpu, Kind::Note);
  r.text = text;
  emit(r);
}

void RecordingTracer::interrupt(const Cpu& cpu, uint8_t vector, EventType type) {
  track(cpu).regs_unsettled = true;
  // Hardware exceptions were recorded by exception(), with their error code.
  if (type == EventType::HardwareException) return;
  Record r = event(cpu, Kind::Interrupt);
  r.vector = vector;
  r.sub = uint8_t(type);
  emit(r);
}

void RecordingTracer::vm_entry(const Cpu& cpu, VmEntryKind kind) {
  track(cpu).regs_unsettled = true;
  Record r = event(cpu, Kind::VmEntry);
  r.sub = uint8_t(kind);
  emit(r);
}

void RecordingTracer::vm_exit(const Cpu& cpu, VmArch arch, uint64_t reason, uint64_t qualification) {
  track(cpu).regs_unsettled = true;
  Record r = event(cpu, Kind::VmExit);
  r.sub = uint8_t(arch);
  r.a = reason;
  r.b = qualification;
  emit(r);
}

void RecordingTracer::vm_entry_failed(const Cpu& cpu, const char* check) {
  Record r = event(cpu, Kind::VmEntryFailed);
  r.text = check ? check : "";
  emit(r);
}

void RecordingTracer::io(const Cpu& cpu, uint16_t port, unsigned size, uint64_t value, bool write) {
  track(cpu).regs_unsettled = true;
  Record r = event(cpu, Kind::Io);
  r.sub = uint8_t(size | (write ? 0x80 : 0));
  r.a = port;
  r.b = value;
  emit(r);
}

void RecordingTracer::mem_write(const Cpu& cpu, uint64_t lin, unsigned size, uint64_t value) {
  if (!(flags_ & header_flag::MEM)) return;
  Record r = event(cpu, Kind::MemWrite);
  r.size = uint8_t(size);
  r.a = lin;
  r.b = value;
  emit(r);
}

uint64_t RecordingTracer::host_reading(const Cpu& running, HostReading kind, const std::function<uint64_t()>& live) {
  const uint64_t value = live();
  Record r = event(running, Kind::HostClock);
  r.sub = uint8_t(kind);
  r.a = value;
  emit(r);
  return value;
}

unsigned RecordingTracer::serial_input(const Cpu& running, uint64_t poll, uint8_t* out, unsigned room,
                                       const std::function<int()>& live) {
  const unsigned n = read_live_bytes(live, out, room);
  if (n) {
    Record r = event(running, Kind::SerialIn);
    r.a = poll;
    r.text.assign(reinterpret_cast<const char*>(out), n);
    emit(r);
  }
  return n;
}

bool RecordingTracer::stop_requested(const Cpu& running, bool live) {
  if (live) emit(event(running, Kind::StopRequest));
  return live;
}

void RecordingTracer::end(StopReason stop, uint64_t total_insns, const std::string& detail) {
  Record r;
  r.kind = Kind::End;
  r.cpu = cur_cpu_;
  r.icount = cpus_[cur_cpu_].icount;
  r.sub = uint8_t(stop);
  r.a = total_insns;
  r.text = detail;
  emit(r);
}

// ---- TraceWriter -------------------------------------------------------------

TraceWriter::TraceWriter(const std::string& path, const TraceHeader& header) : RecordingTracer(header.flags) {
  f_ = std::fopen(path.c_str(), "wb");
  if (!f_) throw std::runtime_error("cannot write '" + path + "': " + std::strerror(errno));
  const std::vector<uint8_t> h = encode_header(header);
  ok_ = std::fwrite(h.data(), 1, h.size(), f_) == h.size();
  written_ = h.size();
}

TraceWriter::~TraceWriter() {
  if (f_) std::fclose(f_);
}

void TraceWriter::drain() {
  std::vector<uint8_t>& b = enc_.buffer();
  if (b.empty()) return;
  ok_ = std::fwrite(b.data(), 1, b.size(), f_) == b.size() && ok_;
  written_ += b.size();
  b.clear();
}

[[gnu::always_inline]] inline const Insn* TraceWriter::previous_insn(const Cpu& cpu, CpuTrack& t) {
  const InsnSequence& q = cpu.insn_sequence;
  const Insn* prev = nullptr;
  if (q.current == q.first)
    prev = q.carried;
  else if (t.block_run == q.block_run && t.last_reported == q.current - 1)
    prev = t.last_reported;
  t.block_run = q.block_run;
  t.last_reported = q.current;
  return prev;
}

void TraceWriter::insn(const Cpu& cpu, uint64_t rip, uint64_t phys, const uint8_t* bytes, unsigned len) {
  CpuTrack& t = track(cpu);
  const Insn* const prev = flags_ & header_flag::REGS ? previous_insn(cpu, t) : nullptr;
  if (t.seen && uint8_t(cpu.s.mode) == t.mode && !enc_.stage_nearly_full()) [[likely]] {
    // --record-regs after a plain instruction (see encode_register_changes):
    // the Regs and instruction records in one inline step.
    if (flags_ & header_flag::REGS) {
      if (prev && !t.regs_unsettled) [[likely]] {
        const uint32_t candidates = gpr_write_candidates(*prev);
        if (candidates != ALL_REGS) [[likely]] {
          cur_cpu_ = cpu.initial_apic_id;
          t.icount = cpu.s.insn_count;
          enc_.encode_candidate_regs_and_insn(cur_cpu_, t.icount, cpu.s.gpr, cpu.s.rflags, candidates, rip, phys,
                                              bytes, len > 15 ? 15 : len);
          return;
        }
      }
    } else {
      cur_cpu_ = cpu.initial_apic_id;
      t.icount = cpu.s.insn_count;
      enc_.encode_insn(cur_cpu_, t.icount, rip, phys, bytes, len > 15 ? 15 : len);
      return;
    }
  }
  insn_in_full(cpu, t, rip, phys, bytes, len);
}

// Any other instruction (the first of a CPU, one in another mode, one
// after an event or a block lookup; one that finds the staging area near
// its end): all registers compared (with --record-regs), the mode
// checked, the staged bytes committed and the buffer drained when full.
void TraceWriter::insn_in_full(const Cpu& cpu, CpuTrack& t, uint64_t rip, uint64_t phys, const uint8_t* bytes,
                               unsigned len) {
  cur_cpu_ = cpu.initial_apic_id;
  if (flags_ & header_flag::REGS) encode_register_changes(cpu, t);
  t.seen = true;
  if (uint8_t(cpu.s.mode) != t.mode) [[unlikely]] emit_mode(cpu, t);
  t.icount = cpu.s.insn_count;
  enc_.encode_insn(cur_cpu_, t.icount, rip, phys, bytes, len > 15 ? 15 : len);
  if (enc_.committed_size() >= DRAIN_AT) [[unlikely]] drain();
}

// The registers compared with the encoder's copy of the last Regs record
// (traces/format.h encode_changed_regs): the same record as
// emit_register_changes builds, without a Record and its vector. The
// system registers (CR0..GS base) rarely change: they are compared with
// the writer's own copy of them (t.regs) in one OR of XORs, and copied
// and handed to the encoder only when one did.
//
// When the run loop says the previous instruction ran just before this
// one with nothing between (emu/insn_sequence.h) and it can write only
// its register operands (traces/reg_writes.h), TraceWriter::insn compares
// only those and RFLAGS instead: nothing else can differ from the last
// Regs point.
void TraceWriter::encode_register_changes(const Cpu& cpu, CpuTrack& t) {
  const CpuState& s = cpu.s;
  t.regs_unsettled = false;
  uint64_t* sys = t.regs.data() + treg::CR0;
  constexpr unsigned SEL = treg::ES - treg::CR0, BASE = treg::FS_BASE - treg::CR0;
  const uint64_t changed = (s.cr0 ^ sys[0]) | (s.cr2 ^ sys[1]) | (s.cr3 ^ sys[2]) | (s.cr4 ^ sys[3]) |
                           (s.efer ^ sys[4]) | (s.seg[ES].sel ^ sys[SEL + ES]) | (s.seg[CS].sel ^ sys[SEL + CS]) |
                           (s.seg[SS].sel ^ sys[SEL + SS]) | (s.seg[DS].sel ^ sys[SEL + DS]) |
                           (s.seg[FS].sel ^ sys[SEL + FS]) | (s.seg[GS].sel ^ sys[SEL + GS]) |
                           (s.seg[FS].base ^ sys[BASE]) | (s.seg[GS].base ^ sys[BASE + 1]);
  const bool all = !t.seen;
  if (changed || all) {
    sys[0] = s.cr0, sys[1] = s.cr2, sys[2] = s.cr3, sys[3] = s.cr4, sys[4] = s.efer;
    for (unsigned i = 0; i < 6; ++i) sys[SEL + i] = s.seg[i].sel;
    sys[BASE] = s.seg[FS].base, sys[BASE + 1] = s.seg[GS].base;
  }
  enc_.encode_changed_regs(cpu.initial_apic_id, s.insn_count, s.gpr, s.rflags, changed || all ? sys : nullptr, all);
}

void TraceWriter::emit(const Record& r) {
  enc_.encode(r);
  if (enc_.committed_size() >= DRAIN_AT) drain();
}

void TraceWriter::emit_insn(uint32_t cpu, uint64_t icount, uint64_t rip, uint64_t phys, const uint8_t* bytes,
                            unsigned len) {
  enc_.encode_insn(cpu, icount, rip, phys, bytes, len);
  if (enc_.committed_size() >= DRAIN_AT) drain();
}

bool TraceWriter::finish() {
  if (!f_) return ok_;
  drain();
  bool ok = ok_ && std::fflush(f_) == 0 && !std::ferror(f_);
  ok = std::fclose(f_) == 0 && ok;
  f_ = nullptr;
  return ok;
}

// ---- TraceChecker ------------------------------------------------------------

namespace {
constexpr size_t CONTEXT = 5;  // records shown before a divergence
constexpr size_t AFTER = 3;    // and of the recording after it
}  // namespace

TraceChecker::TraceChecker(const std::vector<uint8_t>& data, const std::string& file)
    : RecordingTracer(0), data_(data), file_(file), dec_(data.data(), data.size(), file) {
  // Record what the recording recorded, no more and no less.
  set_flags(dec_.header().flags);
}

void TraceChecker::diverge(const std::string& what, const Record* expected, const Record* actual) {
  ReplayDivergence d;
  d.what = what;
  d.context.assign(recent_.begin(), recent_.end());
  d.modes = modes_;
  if (expected) d.has_expected = true, d.expected = *expected;
  if (actual) d.has_actual = true, d.actual = *actual;
  try {
    Record r;
    while (expected && d.expected_after.size() < AFTER && dec_.next(r)) d.expected_after.push_back(r);
  } catch (const TraceError&) {
    // The context after it is a courtesy: a damaged tail does not matter here.
  }
  first_divergence_ = std::make_shared<ReplayDivergence>(d);
  throw d;
}

bool TraceChecker::take_expected(Record& r) {
  if (has_lookahead_) {
    r = std::move(lookahead_);
    has_lookahead_ = false;
    return true;
  }
  return dec_.next(r);
}

const Record* TraceChecker::peek_expected() {
  if (!has_lookahead_) has_lookahead_ = dec_.next(lookahead_);
  return has_lookahead_ ? &lookahead_ : nullptr;
}

void TraceChecker::accept(const Record& want) {
  if (want.kind == Kind::Mode) modes_[want.cpu] = want.sub;
  if (want.kind == Kind::Insn) last_insn_ = want;
  recent_.push_back(want);
  if (recent_.size() > CONTEXT) recent_.pop_front();
  ++checked_;
}

void TraceChecker::emit(const Record& r) {
  if (first_divergence_) throw *first_divergence_;
  if (stopped_early_ && r.kind == Kind::End) return;
  if (r.kind == Kind::End) skip_inputs_after_the_run();
  Record want;
  if (!take_expected(want))
    diverge("the replay goes on after the recording ended", nullptr, &r);
  if (!want.same_as(r)) diverge("the replay differs from the recording", &want, &r);
  accept(want);
}

// Before this softvt's machine took its inputs once per slice boundary
// (Pc::between_slices), a run that ended (--max-insns, power-off, a
// triple fault) took a host-clock reading as the last slice ended and,
// at --max-insns, also looked for COM1 input once more: recordings of
// that time hold such inputs between the run's last instruction (and its
// events) and the End record. Nothing of the run could see them; the
// replay accepts them without taking them.
void TraceChecker::skip_inputs_after_the_run() {
  for (const Record* next = peek_expected(); next && (next->kind == Kind::HostClock || next->kind == Kind::SerialIn);
       next = peek_expected()) {
    Record taken;
    take_expected(taken);
  }
}

// The replay reads the host clock where the recording did: the same CPU
// and instruction count, the next record. The value is the recording's
// (what it changes shows in the records that follow).
uint64_t TraceChecker::host_reading(const Cpu& running, HostReading kind, const std::function<uint64_t()>&) {
  if (first_divergence_) throw *first_divergence_;
  Record actual = event(running, Kind::HostClock);
  actual.sub = uint8_t(kind);
  Record want;
  if (!take_expected(want)) diverge("the replay reads the host clock after the recording ended", nullptr, &actual);
  actual.a = want.a;
  if (!want.same_as(actual)) diverge("the replay reads the host clock where the recording did not", &want, &actual);
  accept(want);
  return want.a;
}

// COM1 receives the recorded bytes at the poll the recording received
// them at (polls without input are not recorded).
unsigned TraceChecker::serial_input(const Cpu& running, uint64_t poll, uint8_t* out, unsigned room,
                                    const std::function<int()>&) {
  if (first_divergence_) throw *first_divergence_;
  const Record* next = peek_expected();
  if (!next || next->kind != Kind::SerialIn || next->a > poll) return 0;
  Record actual = event(running, Kind::SerialIn);
  actual.a = poll;
  actual.text = next->text;
  Record want;
  take_expected(want);
  if (!want.same_as(actual))
    diverge("COM1's input arrives where the recording did not receive it", &want, &actual);
  if (want.text.size() > room)
    diverge("the recording's COM1 input (" + std::to_string(want.text.size()) + " bytes) does not fit the replay's receiver (room for " +
                std::to_string(room) + ")",
            &want, &actual);
  accept(want);
  std::memcpy(out, want.text.data(), want.text.size());
  return unsigned(want.text.size());
}

// The replay stops where the recording was stopped by Ctrl-C (the same
// CPU and count), or where the user stops the replay itself.
bool TraceChecker::stop_requested(const Cpu& running, bool live) {
  if (first_divergence_) throw *first_divergence_;
  if (live) return true;
  const Record* next = peek_expected();
  if (!next || next->kind != Kind::StopRequest) return false;
  Record want;
  take_expected(want);
  const Record actual = event(running, Kind::StopRequest);
  if (!want.same_as(actual)) diverge("the recording was stopped by Ctrl-C elsewhere", &want, &actual);
  accept(want);
  return true;
}

void TraceChecker::check_complete() {
  if (first_divergence_) throw *first_divergence_;
  if (stopped_early_) return;
  Record want;
  // A replay that ended early: the recording has more (other than End,
  // which the replay emits itself through end() and emit()).
  if (take_expected(want)) diverge("the replay ended before the recording did", &want, nullptr);
}

}  // namespace softvt::trace
