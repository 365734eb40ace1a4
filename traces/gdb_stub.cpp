// The gdb remote stub (traces/gdb_stub.h). Packet reference: gdb manual,
// "Packets", "Stop Reply Packets", "General Query Packets", "Host I/O" (not
// offered), "Target Descriptions".
#include "traces/gdb_stub.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "traces/gdb_monitor.h"
#include "traces/gdb_target_xml.h"
#include "traces/gdb_walk.h"

namespace softvt::gdb {
namespace {

// Largest packet we accept and announce (qSupported PacketSize, hex).
constexpr size_t PACKET_SIZE = 0x4000;
constexpr unsigned SIGINT_NUM = 2, SIGTRAP_NUM = 5, SIGSEGV_NUM = 11;

std::string error_reply(unsigned code) {
  static const char digits[] = "0123456789abcdef";
  return std::string("E") + digits[(code >> 4) & 15] + digits[code & 15];
}
// Error numbers (gdb only shows them): 01 bad packet, 0e (EFAULT-ish) memory, 16 bad argument.
const std::string kBadPacket = error_reply(1), kBadMemory = error_reply(0x0e), kBadArg = error_reply(0x16);

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// "ADDR,LEN" (hex numbers).
bool parse_addr_len(const std::string& s, uint64_t& addr, uint64_t& len) {
  const size_t comma = s.find(',');
  if (comma == std::string::npos) return false;
  const auto a = parse_hex_number(s.substr(0, comma)), l = parse_hex_number(s.substr(comma + 1));
  if (!a || !l) return false;
  addr = *a;
  len = *l;
  return true;
}

std::string byte_hex(unsigned v) {
  static const char digits[] = "0123456789abcdef";
  return std::string(1, digits[(v >> 4) & 15]) + digits[v & 15];
}

// The address gdb uses for the instruction pointer: RIP (gdb's $pc).
uint64_t pc_of(const Cpu& cpu) { return cpu.s.rip; }

}  // namespace

std::string option_problem(const std::string& address, bool wait, const std::string& accel) {
  if (address.empty()) return wait ? "--wait-gdb needs --gdb tcp:HOST:PORT" : "";
  if (accel != "interp")
    return "--gdb: needs --accel interp (breakpoints, stepping and reverse execution need softvt's own CPU)";
  std::string host;
  unsigned port = 0;
  const std::string bad = parse_address(address, host, port);
  return bad.empty() ? "" : "--gdb: " + bad;
}

Stub::Stub(Target& target, StubOptions opt)
    : t_(target), opt_(std::move(opt)), parser_(PACKET_SIZE) {
  if (!opt_.address.empty()) listener_ = Socket::listen_on(opt_.address);
}

// ---- HostDebugger ---------------------------------------------------------

unsigned Stub::cpu_index(const Cpu& cpu) {
  for (unsigned i = 0; i < t_.cpu_count(); ++i)
    if (&t_.cpu(i) == &cpu) return i;
  return 0;
}

bool Stub::stop_before(const Cpu& cpu) {
  const uint64_t pc = pc_of(cpu);
  for (const Breakpoint& b : breakpoints_) {
    if (b.addr != pc) continue;
    const unsigned i = cpu_index(cpu);
    if (skip_active_ && skip_cpu_ == i && skip_rip_ == pc && skip_position_ == t_.position()) return false;
    hit_ = Hit{true, b.hardware, i, 0, 0};
    return true;
  }
  return false;
}

bool Stub::page_watched(uint64_t lin) const {
  const uint64_t page = lin & ~uint64_t(0xfff);
  for (const Watchpoint& w : watchpoints_)
    if (w.addr < page + 0x1000 && page < w.addr + w.len) return true;
  return false;
}

bool Stub::data_access(const Cpu& cpu, uint64_t lin, unsigned size, bool write) {
  for (const Watchpoint& w : watchpoints_) {
    if (!(lin < w.addr + w.len && w.addr < lin + size)) continue;
    if ((w.type == 2 && !write) || (w.type == 3 && write)) continue;
    hit_ = Hit{false, false, cpu_index(cpu), w.addr, w.type};
    return true;
  }
  return false;
}

// ---- the session ----------------------------------------------------------

bool Stub::send_packet(const std::string& payload) {
  last_sent_ = frame(payload);
  if (!conn_.write_all(last_sent_)) {
    conn_.close();
    return false;
  }
  return true;
}

// Between slices of execution: did gdb send the interrupt byte?
bool Stub::poll_interrupt() {
  if (!conn_.valid() || !conn_.readable(0)) return false;
  char buf[512];
  const long n = conn_.read_some(buf, sizeof buf);
  if (n <= 0) {
    conn_.close();
    return true;  // the debugger went away: stop and let the session end
  }
  parser_.feed(buf, size_t(n));
  return parser_.take_interrupt();
}

void Stub::session() {
  char buf[4096];
  while (conn_.valid() && !killed_ && !detached_) {
    if (!conn_.readable(-1)) continue;
    const long n = conn_.read_some(buf, sizeof buf);
    if (n <= 0) break;  // gdb closed the connection: as a detach
    parser_.feed(buf, size_t(n));
    while (auto e = parser_.next()) {
      switch (e->kind) {
        case Event::Ack: break;
        case Event::Nack:
          if (!last_sent_.empty()) conn_.write_all(last_sent_);
          break;
        case Event::BadPacket:
          if (ack_mode_) conn_.write_all("-");
          break;
        case Event::Interrupt: {
          // Already stopped: report where.
          StopInfo s = last_stop_;
          s.kind = StopInfo::Interrupted;
          send_packet(stop_reply(s));
          break;
        }
        case Event::Packet: {
          if (ack_mode_) conn_.write_all("+");
          const std::string reply = handle(e->payload);
          if (killed_) return;
          send_packet(reply);
          break;
        }
      }
      if (!conn_.valid()) break;
    }
  }
}

void Stub::run_free_until_connection() {
  while (!ended_) {
    if (Socket c = listener_.accept_connection(0); c.valid()) {
      conn_ = std::move(c);
      return;
    }
    const RunStop r = t_.resume(t_.position() + opt_.poll_insns);
    if (r.kind == RunStop::Halted || r.kind == RunStop::Ended || r.kind == RunStop::Exited) {
      ended_ = true;
      end_ = r;
    }
  }
}

RunStop Stub::serve() {
  if (opt_.wait) conn_ = listener_.accept_connection(-1);
  for (;;) {
    if (!conn_.valid()) run_free_until_connection();
    if (!conn_.valid()) return end_;  // the machine ended with no debugger attached
    // A fresh connection: the machine is stopped where it is.
    t_.set_host_debugger(this);
    parser_ = PacketParser(PACKET_SIZE);
    ack_mode_ = true;
    detached_ = false;
    last_stop_ = StopInfo{};
    last_stop_.kind = StopInfo::Interrupted;
    session();
    breakpoints_.clear();
    watchpoints_.clear();
    t_.set_host_debugger(nullptr);
    conn_.close();
    if (killed_) return end_;
    if (ended_) return end_;
  }
}

// ---- dispatch -------------------------------------------------------------

std::string Stub::handle(const std::string& p) {
  if (p.empty()) return "";
  switch (p[0]) {
    case '?': return stop_reply(last_stop_);
    case 'g': return read_registers();
    case 'G': return write_registers(p.substr(1));
    case 'p': return read_register(p.substr(1));
    case 'P': return write_register(p.substr(1));
    case 'm': return read_memory(p.substr(1));
    case 'M': return write_memory(p.substr(1), false);
    case 'X': return write_memory(p.substr(1), true);
    case 'Z': return breakpoint(p.substr(1), true);
    case 'z': return breakpoint(p.substr(1), false);
    case 'H': return set_thread(p.substr(1));
    case 'T': return thread_alive(p.substr(1));
    case 'c': return p.size() == 1 ? do_continue() : kBadArg;  // "c ADDR" is not supported
    case 's': return p.size() == 1 ? do_step() : kBadArg;
    case 'C': return do_continue();  // the signal is not the guest's: ignored
    case 'S': return do_step();
    case 'b':
      if (p == "bs") return reverse_step();
      if (p == "bc") return reverse_continue();
      return "";
    case 'v':
      if (starts_with(p, "vCont")) return vcont(p);
      if (p == "vMustReplyEmpty") return "";
      if (starts_with(p, "vKill")) {
        killed_ = true;
        return "OK";
      }
      return "";
    case 'D':
      detached_ = true;
      return "OK";
    case 'k':
      killed_ = true;
      return "";
    case 'q':
    case 'Q': return query(p);
    default: return "";
  }
}

std::string Stub::query(const std::string& p) {
  if (starts_with(p, "qSupported"))
    return "PacketSize=" + hex_number(PACKET_SIZE) +
           ";qXfer:features:read+;QStartNoAckMode+;ReverseStep+;ReverseContinue+;swbreak+;hwbreak+;vContSupported+";
  if (p == "QStartNoAckMode") {
    ack_mode_ = false;  // takes effect after this packet's acknowledgment
    return "OK";
  }
  if (starts_with(p, "qXfer:features:read:")) return xfer_features(p.substr(20));
  if (p == "qfThreadInfo") {
    std::string r = "m";
    for (unsigned i = 0; i < t_.cpu_count(); ++i) r += (i ? "," : "") + hex_number(i + 1);
    return r;
  }
  if (p == "qsThreadInfo") return "l";
  if (p == "qC") return "QC" + hex_number(g_thread_ + 1);
  if (p == "qAttached") return "1";
  if (starts_with(p, "qRcmd,")) return monitor(p.substr(6));
  if (starts_with(p, "qThreadExtraInfo,")) {
    bool ok = false;
    const unsigned i = parse_thread(p.substr(17), ok);
    if (!ok) return kBadArg;
    return to_hex("CPU " + std::to_string(i) + " (" + level_name(t_.cpu(i)) + ")");
  }
  if (p == "qSymbol::") return "OK";
  return "";
}

std::string Stub::xfer_features(const std::string& rest) {
  // "target.xml:OFFSET,LENGTH"
  const size_t colon = rest.find(':');
  if (colon == std::string::npos) return kBadPacket;
  if (rest.substr(0, colon) != "target.xml") return error_reply(0);
  uint64_t off, len;
  if (!parse_addr_len(rest.substr(colon + 1), off, len)) return kBadPacket;
  const std::string& x = target_xml();
  if (off >= x.size()) return "l";
  const std::string part = x.substr(off, std::min<uint64_t>(len, PACKET_SIZE / 2));
  return (off + part.size() < x.size() ? "m" : "l") + part;
}

// ---- threads --------------------------------------------------------------

// A thread id: hex, N = CPU N-1; "0" (any) and "-1" (all) mean the current.
unsigned Stub::parse_thread(const std::string& s, bool& ok) const {
  ok = true;
  if (s == "-1" || s == "0") return g_thread_;
  const auto v = parse_hex_number(s);
  if (!v || *v == 0 || *v > t_.cpu_count()) {
    ok = false;
    return 0;
  }
  return unsigned(*v - 1);
}

std::string Stub::set_thread(const std::string& p) {
  if (p.empty() || (p[0] != 'g' && p[0] != 'c')) return kBadPacket;
  bool ok = false;
  const unsigned i = parse_thread(p.substr(1), ok);
  if (!ok) return kBadArg;
  if (p[0] == 'g') g_thread_ = i;  // Hc: all-stop, every CPU resumes together
  return "OK";
}

std::string Stub::thread_alive(const std::string& p) {
  bool ok = false;
  parse_thread(p, ok);
  return ok ? "OK" : kBadArg;
}

Cpu& Stub::selected_cpu() { return t_.cpu(g_thread_); }

// ---- registers --------------------------------------------------------------

std::string Stub::read_registers() {
  std::string all, b;
  for (unsigned r = 0; r < registers().size(); ++r) {
    gdb::read_register(selected_cpu(), r, b);
    all += b;
  }
  return to_hex(all);
}

std::string Stub::write_registers(const std::string& hex) {
  const auto bytes = from_hex(hex);
  if (!bytes) return kBadPacket;
  size_t total = 0;
  for (const RegisterInfo& r : registers()) total += r.bits / 8;
  if (bytes->size() != total) return kBadArg;
  size_t off = 0;
  for (unsigned r = 0; r < registers().size(); ++r) {
    const size_t n = registers()[r].bits / 8;
    gdb::write_register(selected_cpu(), r, bytes->data() + off, n);
    off += n;
  }
  t_.state_edited();
  return "OK";
}

std::string Stub::read_register(const std::string& arg) {
  const auto r = parse_hex_number(arg);
  std::string b;
  if (!r || *r > 0xffff || !gdb::read_register(selected_cpu(), unsigned(*r), b)) return kBadArg;
  return to_hex(b);
}

std::string Stub::write_register(const std::string& arg) {
  const size_t eq = arg.find('=');
  if (eq == std::string::npos) return kBadPacket;
  const auto r = parse_hex_number(arg.substr(0, eq));
  const auto bytes = from_hex(arg.substr(eq + 1));
  if (!r || !bytes || *r > 0xffff) return kBadPacket;
  if (!gdb::write_register(selected_cpu(), unsigned(*r), bytes->data(), bytes->size())) return kBadArg;
  t_.state_edited();
  return "OK";
}

// ---- memory -----------------------------------------------------------------

// Reads through the selected CPU's paging; stops at the first byte that has
// no translation to RAM (an error if that is the first one).
std::string Stub::read_memory(const std::string& arg) {
  uint64_t addr, len;
  if (!parse_addr_len(arg, addr, len)) return kBadPacket;
  len = std::min<uint64_t>(len, PACKET_SIZE / 2 - 8);
  Cpu& cpu = selected_cpu();
  std::string out;
  while (out.size() < len) {
    const uint64_t lin = addr + out.size();
    const WalkResult w = debug_walk(cpu, lin);
    if (!w.ok || w.phys >= cpu.mem.ram_size()) break;
    const uint64_t in_page = std::min<uint64_t>(0x1000 - (lin & 0xfff), cpu.mem.ram_size() - w.phys);
    const uint64_t n = std::min<uint64_t>(in_page, len - out.size());
    out.append(reinterpret_cast<const char*>(cpu.mem.ram() + w.phys), n);
  }
  if (out.empty() && len) return kBadMemory;
  return to_hex(out);
}

std::string Stub::write_memory(const std::string& arg, bool binary) {
  const size_t colon = arg.find(':');
  if (colon == std::string::npos) return kBadPacket;
  uint64_t addr, len;
  if (!parse_addr_len(arg.substr(0, colon), addr, len)) return kBadPacket;
  std::string data;
  if (binary) {
    const auto d = unescape_binary(arg.substr(colon + 1));
    if (!d) return kBadPacket;
    data = *d;
  } else {
    const auto d = from_hex(arg.substr(colon + 1));
    if (!d) return kBadPacket;
    data.assign(d->begin(), d->end());
  }
  if (data.size() != len) return kBadArg;
  Cpu& cpu = selected_cpu();
  // Every byte must be writable RAM before any is written.
  std::vector<uint64_t> phys(data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    const WalkResult w = debug_walk(cpu, addr + i);
    if (!w.ok || w.phys >= cpu.mem.ram_size()) return kBadMemory;
    phys[i] = w.phys;
  }
  // write_phys drops decoded blocks on the written bytes (self-modifying code).
  for (size_t i = 0; i < data.size(); ++i) cpu.mem.write_phys(phys[i], 1, uint8_t(data[i]));
  if (!data.empty()) t_.state_edited();
  return "OK";
}

// ---- breakpoints and watchpoints ------------------------------------------------

std::string Stub::breakpoint(const std::string& p, bool insert) {
  // "TYPE,ADDR,KIND" (KIND: the breakpoint's length; conditions after ';' are not supported).
  if (p.size() < 2 || p[1] != ',') return kBadPacket;
  const unsigned type = unsigned(p[0] - '0');
  if (type > 4) return "";
  std::string rest = p.substr(2);
  if (const size_t semi = rest.find(';'); semi != std::string::npos) rest = rest.substr(0, semi);
  uint64_t addr, kind;
  if (!parse_addr_len(rest, addr, kind)) return kBadPacket;
  if (type <= 1) {
    auto it = std::find_if(breakpoints_.begin(), breakpoints_.end(),
                           [&](const Breakpoint& b) { return b.addr == addr && b.hardware == (type == 1); });
    if (insert && it == breakpoints_.end()) breakpoints_.push_back(Breakpoint{addr, type == 1});
    if (!insert && it != breakpoints_.end()) breakpoints_.erase(it);
  } else {
    if (kind == 0 || kind > 0x1000) return kBadArg;
    auto it = std::find_if(watchpoints_.begin(), watchpoints_.end(), [&](const Watchpoint& w) {
      return w.addr == addr && w.len == kind && w.type == type;
    });
    if (insert && it == watchpoints_.end()) watchpoints_.push_back(Watchpoint{addr, kind, type});
    if (!insert && it != watchpoints_.end()) watchpoints_.erase(it);
  }
  return "OK";
}

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
  if (s.kind == StopInfo::Ended || s.kind == StopInfo::Halted || s.kind == StopInfo::Exited) {
    // The notice reaches gdb's console before the stop.
    send_packet("O" + to_hex("softvt: " + (s.detail.empty() ? std::string("the machine stopped") : s.detail) + "\n"));
  }
  return stop_reply(s);
}

std::string Stub::do_step() {
  note_resume();
  const RunStop r = t_.resume(t_.position() + 1);
  skip_active_ = false;
  StopInfo s = r.kind == RunStop::Limit ? StopInfo{} : stop_from_run(r);
  if (r.kind == RunStop::Limit) s.cpu = r.cpu;
  last_stop_ = s;
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

std::string Stub::reverse_step() {
  if (const std::string why = t_.reverse_unsupported(); !why.empty()) return refuse_reverse(why);
  StopInfo s;
  s.cpu = last_stop_.cpu;
  const uint64_t now = t_.position();
  if (now <= t_.history_start()) {
    s.kind = StopInfo::HistoryStart;
  } else {
    t_.seek(now - 1);
    s.kind = t_.position() <= t_.history_start() ? StopInfo::HistoryStart : StopInfo::Step;
  }
  last_stop_ = s;
  return stop_reply(s);
}

// The last breakpoint or watchpoint hit before the current position:
// re-execute each interval between checkpoints, latest first, noting the
// hits, and rebuild the state at the last one (docs/decisions.md).
std::string Stub::reverse_continue() {
  if (const std::string why = t_.reverse_unsupported(); !why.empty()) return refuse_reverse(why);
  const uint64_t now = t_.position();
  const uint64_t start = t_.history_start();
  uint64_t hi = now;
  while (hi > start) {
    const uint64_t lo = t_.checkpoint_before(hi);
    t_.seek(lo);
    bool found = false;
    uint64_t best = 0;
    StopInfo best_stop;
    skip_active_ = false;
    while (t_.position() < hi) {
      hit_ = Hit{};
      const RunStop r = t_.resume(hi);
      if (r.kind == RunStop::Halted || r.kind == RunStop::Ended || r.kind == RunStop::Exited) break;
      if (r.kind != RunStop::Debug) continue;
      StopInfo s = stop_from_run(r);
      // A breakpoint stops before its instruction (at this position); a
      // watchpoint in reverse stops before the instruction that wrote.
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
    if (found) {
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

std::string Stub::stop_reply(const StopInfo& s) const {
  if (s.kind == StopInfo::Exited) return "W" + byte_hex(unsigned(s.exit_status) & 0xff);
  unsigned sig = SIGTRAP_NUM;
  if (s.kind == StopInfo::Interrupted) sig = SIGINT_NUM;
  if (s.kind == StopInfo::Ended) sig = SIGSEGV_NUM;
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

std::string Stub::monitor(const std::string& hex) {
  const auto cmd = from_hex(hex);
  if (!cmd) return kBadPacket;
  const std::string out = monitor_command(selected_cpu(), std::string(cmd->begin(), cmd->end()));
  return to_hex(out.empty() ? std::string("\n") : out);
}

}  // namespace softvt::gdb
