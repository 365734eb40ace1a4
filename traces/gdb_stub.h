// The gdb remote stub (DESIGN.md "Traces and debugging"; gdb manual,
// appendix "GDB Remote Serial Protocol"): a stock gdb connects over TCP,
// reads and writes registers and memory, sets breakpoints and watchpoints
// (kept by softvt, never written into guest memory), steps, continues,
// interrupts with Ctrl-C, and executes backwards (bs/bc: reverse-stepi,
// reverse-continue) by rebuilding earlier states (traces/gdb_target.h).
// One gdb thread per CPU (thread N = CPU N-1). All-stop mode only.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "traces/gdb_packets.h"
#include "traces/gdb_socket.h"
#include "traces/gdb_target.h"

namespace softvt::gdb {

struct StubOptions {
  std::string address;  // "tcp:HOST:PORT"
  bool wait = false;    // --wait-gdb: no instruction before gdb connects
  // Instructions between looks at the socket (Ctrl-C, a connection).
  uint64_t poll_insns = 200000;
  // `monitor trace-position` (softvt replay --gdb): where the machine is
  // in the recording it replays; unset when nothing is replayed.
  std::function<std::string(const Cpu& cpu, uint64_t position)> trace_position;
};

// What is wrong with `--gdb ADDRESS` / `--wait-gdb` for a run with the
// accelerator `accel` ("" if nothing): the stub needs the interpreter.
std::string option_problem(const std::string& address, bool wait, const std::string& accel);

class Stub : public HostDebugger {
 public:
  // Listens at once (throws std::runtime_error naming the address).
  Stub(Target& target, StubOptions opt);

  // Runs the machine, serving gdb whenever it is connected. Returns how
  // the machine ended: by itself (with no debugger attached or after
  // "continue" reached the end and gdb detached), or killed by gdb.
  RunStop serve();
  bool killed() const { return killed_; }

  // ---- the protocol, without a socket (unit tests) -----------------------
  // The reply to one packet's payload ("" = the empty reply: unsupported).
  // Execution commands run the target; while they run, `poll_interrupt`
  // is asked between slices whether the user pressed Ctrl-C.
  std::string handle(const std::string& payload);
  bool detached() const { return detached_; }

  // ---- HostDebugger -------------------------------------------------------
  bool has_breakpoints() const override { return !breakpoints_.empty(); }
  bool has_watchpoints() const override { return !watchpoints_.empty(); }
  bool stop_before(const Cpu& cpu) override;
  bool page_watched(uint64_t lin) const override;
  bool data_access(const Cpu& cpu, uint64_t lin, unsigned size, bool write) override;

 private:
  struct Breakpoint {
    uint64_t addr;
    bool hardware;
  };
  struct Watchpoint {
    uint64_t addr, len;
    unsigned type;  // 2 write, 3 read, 4 access (Z2/Z3/Z4)
  };
  // Why the machine stopped, for the stop reply.
  struct StopInfo {
    enum Kind : uint8_t { Step, Breakpoint, Watch, Interrupted, HistoryStart, Halted, Ended, Exited, Diverged } kind = Step;
    unsigned cpu = 0;
    bool hardware = false;           // Breakpoint: Z1
    uint64_t watch_addr = 0;         // Watch
    unsigned watch_type = 2;
    int exit_status = 0;
    std::string detail;
  };
  // A host stop seen while running (set by stop_before/data_access).
  struct Hit {
    bool breakpoint = false, hardware = false;
    unsigned cpu = 0;
    uint64_t watch_addr = 0;
    unsigned watch_type = 0;
  };

  // Session plumbing.
  void session();
  bool send_packet(const std::string& payload);
  bool poll_interrupt();
  void run_free_until_connection();

  // Commands.
  // The stop reply; gdb takes the thread it names as the one Hg selects
  // (remote.c record_currthread), and so does the stub.
  std::string stop_reply(const StopInfo& s);
  std::string query(const std::string& p);
  std::string read_registers();
  std::string write_registers(const std::string& hex);
  std::string read_register(const std::string& arg);
  std::string write_register(const std::string& arg);
  std::string read_memory(const std::string& arg);
  std::string write_memory(const std::string& arg, bool binary);
  std::string breakpoint(const std::string& p, bool insert);
  std::string set_thread(const std::string& p);
  std::string thread_alive(const std::string& p);
  std::string vcont(const std::string& p);
  std::string monitor(const std::string& hex);
  std::string xfer_features(const std::string& annex_and_range);

  // Execution.
  std::string do_continue();
  std::string do_step();
  std::string reverse_step();
  std::string reverse_continue();
  bool scan_for_hits(uint64_t from, uint64_t to, uint64_t now, uint64_t& best, StopInfo& best_stop);
  std::string refuse_reverse(const std::string& why);
  bool machine_end(StopInfo::Kind k) const {
    return k == StopInfo::Ended || k == StopInfo::Halted || k == StopInfo::Exited || k == StopInfo::Diverged;
  }
  void announce_end(const StopInfo& s);
  StopInfo stop_from_run(const RunStop& r);
  void note_resume();
  unsigned cpu_index(const Cpu& cpu);
  Cpu& selected_cpu();
  unsigned parse_thread(const std::string& s, bool& ok) const;

  Target& t_;
  StubOptions opt_;
  Socket listener_, conn_;
  PacketParser parser_;
  bool ack_mode_ = true;
  std::string last_sent_;
  bool killed_ = false, detached_ = false, interrupted_ = false;
  unsigned g_thread_ = 0;  // CPU for register/memory packets (Hg)
  // The CPU a step or reverse step is for: the thread of vCont's step
  // action, else of the last Hc naming one, else Hg's.
  unsigned step_thread_ = 0;
  bool step_thread_set_ = false;
  unsigned step_cpu() const { return step_thread_set_ ? step_thread_ : g_thread_; }
  std::string step_one_of_several();
  std::vector<Breakpoint> breakpoints_;
  std::vector<Watchpoint> watchpoints_;
  // The instruction the machine resumes at is not stopped at again (a
  // breakpoint there was already reported).
  bool skip_active_ = false;
  uint64_t skip_position_ = 0, skip_rip_ = 0;
  unsigned skip_cpu_ = 0;
  Hit hit_;
  StopInfo last_stop_;
  RunStop end_;  // the machine's end, once reached
  bool ended_ = false;
};

}  // namespace softvt::gdb
