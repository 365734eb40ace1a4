// The gdb remote stub (traces/gdb_stub.h). Packet reference: gdb manual,
// "Packets", "Stop Reply Packets", "General Query Packets", "Host I/O" (not
// offered), "Target Descriptions".
#include "traces/gdb_stub.h"

#include <algorithm>

#include "traces/gdb_monitor.h"
#include "traces/gdb_stub_util.h"
#include "traces/gdb_target_xml.h"

namespace softvt::gdb {

using namespace detail;

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
          // "k" has no reply; "vKill" is answered before the end.
          if (killed_ && e->payload == "k") return;
          send_packet(reply);
          if (killed_) return;
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
    if (r.kind == RunStop::Halted || r.kind == RunStop::Ended || r.kind == RunStop::Exited ||
        r.kind == RunStop::Diverged) {
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
  if (p[0] == 'g') {
    g_thread_ = i;
  } else {
    // Hc: all-stop, every CPU resumes together; a specific thread is the
    // one a following step (s, bs) is for.
    step_thread_set_ = p.substr(1) != "-1" && p.substr(1) != "0";
    step_thread_ = i;
  }
  return "OK";
}

std::string Stub::thread_alive(const std::string& p) {
  bool ok = false;
  parse_thread(p, ok);
  return ok ? "OK" : kBadArg;
}

Cpu& Stub::selected_cpu() { return t_.cpu(g_thread_); }

std::string Stub::monitor(const std::string& hex) {
  const auto cmd = from_hex(hex);
  if (!cmd) return kBadPacket;
  const std::string line(cmd->begin(), cmd->end());
  std::string out;
  if (line == "trace-position")
    out = opt_.trace_position ? opt_.trace_position(selected_cpu(), t_.position())
                              : "monitor trace-position: this run replays no recording (softvt replay FILE --gdb ...)\n";
  else
    out = monitor_command(selected_cpu(), line);
  return to_hex(out.empty() ? std::string("\n") : out);
}

}  // namespace softvt::gdb
