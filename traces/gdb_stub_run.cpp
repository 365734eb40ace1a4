// The gdb stub's execution commands (traces/gdb_stub.h): continue, step,
// vCont, Ctrl-C, reverse-stepi and reverse-continue, and the stop replies
// (gdb manual, "Stop Reply Packets"; reverse execution: docs/decisions.md
// "Reverse execution in gdb").
#include "traces/gdb_stub.h"
#include "traces/gdb_stub_util.h"

namespace softvt::gdb {

using namespace detail;

// ---- execution --------------------------------------------------------------

// The next run does not stop at the breakpoint it is stopped at.
void Stub::note_resume() {
  skip_active_ = true;
  skip_cpu_ = last_stop_.cpu;
  skip_rip_ = pc_of(t_.cpu(skip_cpu_));
  skip_position_ = t_.position();
  hit_ = Hit{};
}

Stub::StopInfo Stub::stop_from_run(const RunStop& r) {
  StopInfo s;
  s.cpu = r.cpu;
  switch (r.kind) {
    case RunStop::Debug:
      s.cpu = hit_.cpu;
      if (hit_.breakpoint) {
        s.kind = StopInfo::Breakpoint;
        s.hardware = hit_.hardware;
      } else {
        s.kind = StopInfo::Watch;
        s.watch_addr = hit_.watch_addr;
        s.watch_type = hit_.watch_type;
      }
      break;
    case RunStop::Halted:
      s.kind = StopInfo::Halted;
      s.detail = r.detail;
      break;
    case RunStop::Ended:
      s.kind = StopInfo::Ended;
      s.detail = r.detail;
      break;
    case RunStop::Exited:
      s.kind = StopInfo::Exited;
      s.exit_status = r.exit_status;
      s.detail = r.detail;
      break;
    case RunStop::Diverged:
      s.kind = StopInfo::Diverged;
      s.detail = r.detail;
      break;
    default: s.kind = StopInfo::Step; break;
  }
  return s;
}

std::string Stub::do_continue() {
  note_resume();
  StopInfo s;
  for (;;) {
    const RunStop r = t_.resume(t_.position() + opt_.poll_insns);
    if (r.kind != RunStop::Limit) {
      s = stop_from_run(r);
      break;
    }
    if (poll_interrupt()) {
      s.kind = StopInfo::Interrupted;
      s.cpu = r.cpu;
      break;
    }
  }
  skip_active_ = false;
  last_stop_ = s;
  announce_end(s);
  return stop_reply(s);
}

// Why the machine cannot go on, on gdb's console before the stop.
void Stub::announce_end(const StopInfo& s) {
  if (!machine_end(s.kind)) return;
  std::string text = s.detail.empty() ? std::string("the machine stopped") : s.detail;
  if (text.back() != '\n') text += '\n';
  if (s.kind == StopInfo::Diverged) text = "the replay left its recording; it stops here:\n" + text;
  // gdb prints an O packet's text as it comes; long reports go in pieces
  // that fit a packet.
  for (size_t at = 0; at < text.size(); at += PACKET_SIZE / 4)
    send_packet("O" + to_hex("softvt: " + text.substr(at, PACKET_SIZE / 4)));
}

std::string Stub::do_step() {
  if (t_.cpu_count() > 1) return step_one_of_several();
  note_resume();
  const RunStop r = t_.resume(t_.position() + 1);
  skip_active_ = false;
  StopInfo s = r.kind == RunStop::Limit ? StopInfo{} : stop_from_run(r);
  if (r.kind == RunStop::Limit) s.cpu = r.cpu;
  last_stop_ = s;
  if (s.kind == StopInfo::Diverged) announce_end(s);
  return stop_reply(s);
}

// stepi of one CPU while the others run as scheduled: until that CPU
// retired one instruction, or its step retired nothing (an exception or
// interrupt delivered, as stepi with one CPU), or a breakpoint or
// watchpoint of any CPU, or Ctrl-C.
std::string Stub::step_one_of_several() {
  note_resume();
  const unsigned k = step_cpu();
  const uint64_t goal = t_.cpu(k).s.insn_count + 1;
  t_.set_cpu_limit(k, goal);
  StopInfo s;
  s.cpu = k;
  for (;;) {
    const uint64_t until = t_.position() + opt_.poll_insns;
    const RunStop r = t_.resume(until);
    if (r.kind != RunStop::Limit) {
      s = stop_from_run(r);
      break;
    }
    // A run that ended early on CPU k: its step is done.
    if (t_.cpu(k).s.insn_count >= goal || (r.cpu == k && t_.position() < until)) break;
    if (poll_interrupt()) {
      s.kind = StopInfo::Interrupted;
      break;
    }
  }
  t_.set_cpu_limit(Target::NO_CPU, 0);
  skip_active_ = false;
  last_stop_ = s;
  announce_end(s);
  return stop_reply(s);
}

std::string Stub::vcont(const std::string& p) {
  if (p == "vCont?") return "vCont;c;C;s;S";
  // "vCont;ACTION[:THREAD];..." - all-stop: a step action steps, else continue.
  if (!starts_with(p, "vCont;")) return "";
  bool step = false, any = false;
  size_t pos = 6;
  while (pos <= p.size()) {
    const size_t semi = p.find(';', pos);
    const std::string act = p.substr(pos, semi == std::string::npos ? std::string::npos : semi - pos);
    if (act.empty()) return kBadPacket;
    const char a = act[0];
    if (a == 's' || a == 'S') {
      step = true;
      if (const size_t colon = act.find(':'); colon != std::string::npos) {
        bool ok = false;
        const unsigned i = parse_thread(act.substr(colon + 1), ok);
        if (!ok) return kBadArg;
        g_thread_ = i;
        step_thread_ = i;
        step_thread_set_ = true;
      }
    } else if (a != 'c' && a != 'C') {
      return "";  // t, r: not offered
    }
    any = true;
    if (semi == std::string::npos) break;
    pos = semi + 1;
  }
  if (!any) return kBadPacket;
  return step ? do_step() : do_continue();
}

std::string Stub::refuse_reverse(const std::string& why) {
  send_packet("O" + to_hex("softvt: reverse execution is not available: " + why + "\n"));
  return kBadArg;
}

// Back to just before the last instruction the stepping CPU executed
// (with several CPUs, the instructions of the others after it are undone
// too: the position is the machine's).
std::string Stub::reverse_step() {
  if (const std::string why = t_.reverse_unsupported(); !why.empty()) return refuse_reverse(why);
  StopInfo s;
  s.cpu = t_.cpu_count() > 1 ? step_cpu() : last_stop_.cpu;
  const std::optional<uint64_t> back = t_.previous_step(s.cpu, t_.position());
  if (!back) {
    if (t_.position() > t_.history_start()) t_.seek(t_.history_start());
    s.kind = StopInfo::HistoryStart;
  } else {
    t_.seek(*back);
    s.kind = t_.position() <= t_.history_start() ? StopInfo::HistoryStart : StopInfo::Step;
  }
  last_stop_ = s;
  return stop_reply(s);
}

// Re-executes [from, to) noting every breakpoint and watchpoint hit; the
// last one before `now` goes to best/best_stop. A breakpoint stops before
// its instruction (at that position); a watchpoint, in reverse, stops
// before the instruction that wrote.
bool Stub::scan_for_hits(uint64_t from, uint64_t to, uint64_t now, uint64_t& best, StopInfo& best_stop) {
  t_.seek(from);
  bool found = false;
  skip_active_ = false;
  while (t_.position() < to) {
    hit_ = Hit{};
    const RunStop r = t_.resume(to);
    if (r.kind == RunStop::Halted || r.kind == RunStop::Ended || r.kind == RunStop::Exited ||
        r.kind == RunStop::Diverged)
      break;
    if (r.kind != RunStop::Debug) continue;
    const StopInfo s = stop_from_run(r);
    const uint64_t at = s.kind == StopInfo::Breakpoint ? t_.position() : t_.position() - 1;
    if (at < now) {
      found = true;
      best = at;
      best_stop = s;
    }
    skip_active_ = true;
    skip_cpu_ = hit_.cpu;
    skip_rip_ = pc_of(t_.cpu(hit_.cpu));
    skip_position_ = t_.position();
  }
  skip_active_ = false;
  return found;
}

// The last breakpoint or watchpoint hit before the current position. The
// history is searched backwards in windows that grow 8-fold from 4096
// instructions, each re-executed from its start (rebuilt from the
// checkpoint before it), so a hit close behind costs little even when
// hits are dense; then the state at the last hit is rebuilt
// (docs/decisions.md "Reverse execution in gdb").
std::string Stub::reverse_continue() {
  if (const std::string why = t_.reverse_unsupported(); !why.empty()) return refuse_reverse(why);
  const uint64_t now = t_.position();
  const uint64_t start = t_.history_start();
  uint64_t best = 0;
  StopInfo best_stop;
  uint64_t window = 4096;
  for (uint64_t hi = now; hi > start; window *= 8) {
    const uint64_t lo = hi - start > window ? hi - window : start;
    if (scan_for_hits(lo, hi, now, best, best_stop)) {
      t_.seek(best);
      last_stop_ = best_stop;
      return stop_reply(best_stop);
    }
    hi = lo;
  }
  t_.seek(start);
  StopInfo s;
  s.kind = StopInfo::HistoryStart;
  last_stop_ = s;
  return stop_reply(s);
}

std::string Stub::stop_reply(const StopInfo& s) {
  if (s.kind == StopInfo::Exited) return "W" + byte_hex(unsigned(s.exit_status) & 0xff);
  g_thread_ = s.cpu;
  unsigned sig = SIGTRAP_NUM;
  if (s.kind == StopInfo::Interrupted) sig = SIGINT_NUM;
  if (s.kind == StopInfo::Ended) sig = SIGSEGV_NUM;
  // A replay that left its recording cannot go on: SIGABRT (gdb:
  // "Program received signal SIGABRT"), after the divergence report.
  if (s.kind == StopInfo::Diverged) sig = SIGABRT_NUM;
  std::string r = "T" + byte_hex(sig);
  switch (s.kind) {
    case StopInfo::Breakpoint: r += s.hardware ? "hwbreak:;" : "swbreak:;"; break;
    case StopInfo::Watch:
      r += std::string(s.watch_type == 2 ? "watch" : s.watch_type == 3 ? "rwatch" : "awatch") + ":" +
           hex_number(s.watch_addr) + ";";
      break;
    case StopInfo::HistoryStart: r += "replaylog:begin;"; break;
    default: break;
  }
  r += "thread:" + hex_number(s.cpu + 1) + ";";
  return r;
}

}  // namespace softvt::gdb
