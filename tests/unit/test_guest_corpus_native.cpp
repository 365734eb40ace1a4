// Runs the guest corpus (tests/guest/*.asm) directly on the host CPU and
// checks the same header expectations, so every expected value in the
// corpus is confirmed by real hardware, not only by softvt.
//
// How each mode runs as a user process (a forked child per program):
//  - long64: the image is mapped at its load address (identity), RSP = load,
//    and the child jumps to it in 64-bit mode.
//  - prot32: the same mapping; a far jump to Linux's 32-bit user code
//    segment (0x23) runs it in compatibility mode, which executes 32-bit
//    code like protected mode with flat segments.
//  - real16: modify_ldt() gives a 16-bit code and a 16-bit data segment
//    with base = load and limit 0xFFFF; with DS/ES/SS on the data segment,
//    IP = 0 and SP = 0xFFF0 the program sees the addresses it sees in real
//    mode (segment base load, 16-bit offsets). Segment register loads would
//    differ, so programs that load one say `; native: skip REASON`.
// The run ends at the program's HLT, which faults at CPL 3 (SIGSEGV); the
// signal handler (on an alternate stack) reports the registers and the
// requested memory through a pipe.
//
// What cannot be compared natively: "insns", cr*, efer, xmm*; RFLAGS is
// compared under the program's flags mask (default: the arithmetic flags
// and DF) without IF, which user mode cannot clear; in prot32 and real16
// only the low 32 bits of the GPRs are architectural.
#include <asm/ldt.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <catch.hpp>

#include <cstring>

#include "tests/unit/test_guest_corpus_support.h"

// Registers for the jump into the guest, and the far pointer (read by the
// entry code's inline assembly by symbol name, hence extern "C").
struct CorpusEntryRegs {
  uint64_t rsp;
  uint64_t target;  // long64: the entry address
  uint32_t far_off; // prot32/real16: the far pointer
  uint16_t far_sel;
  uint16_t data_sel;
};
extern "C" {
CorpusEntryRegs softvt_corpus_entry;
}

namespace {

constexpr uint64_t kMapStart = 0x4000;     // stack room below the usual load address
constexpr uint64_t kMapTail = 0x100000;    // data room after the image
constexpr uint16_t kCompatCs = 0x23, kUserDs = 0x2b;  // Linux x86-64 GDT selectors
constexpr uint16_t kLdtCode16 = (0 << 3) | 4 | 3, kLdtData16 = (1 << 3) | 4 | 3;
constexpr uint64_t kDefaultFlagsMask = 0xcd5;  // OF DF SF ZF AF PF CF

struct Report {  // written by the child's signal handler
  uint64_t gpr[16];
  uint64_t ip, flags;
  int32_t sig;
  int32_t at_hlt;
};

// State the child's signal handler needs (the child is single-threaded).
struct ChildContext {
  int fd;
  uint64_t code_base;  // linear base of CS (load for real16, else 0)
  std::vector<std::pair<uint64_t, uint64_t>> dumps;
};
ChildContext* g_child = nullptr;


void write_all(int fd, const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n) {
    ssize_t w = ::write(fd, c, n);
    if (w <= 0) return;
    c += w;
    n -= size_t(w);
  }
}

void on_signal(int sig, siginfo_t*, void* ucv) {
  auto* uc = static_cast<ucontext_t*>(ucv);
  const greg_t* g = uc->uc_mcontext.gregs;
  Report r{};
  const int order[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                         REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};
  for (int i = 0; i < 16; ++i) r.gpr[i] = uint64_t(g[order[i]]);
  r.ip = uint64_t(g[REG_RIP]);
  r.flags = uint64_t(g[REG_EFL]);
  r.sig = sig;
  const uint64_t lin = g_child->code_base + (r.ip & (g_child->code_base ? 0xffff : ~uint64_t(0)));
  r.at_hlt = sig == SIGSEGV && *reinterpret_cast<const uint8_t*>(lin) == 0xf4;
  write_all(g_child->fd, &r, sizeof r);
  for (const auto& [a, n] : g_child->dumps) write_all(g_child->fd, reinterpret_cast<const void*>(a), n);
  _exit(0);
}

[[noreturn]] void enter_long64() {
  asm volatile(
      "mov softvt_corpus_entry(%%rip), %%rsp\n"
      "push $0x202\n popfq\n"
      "mov $0, %%eax\n mov $0, %%ebx\n mov $0, %%ecx\n mov $0, %%edx\n"
      "mov $0, %%esi\n mov $0, %%edi\n mov $0, %%ebp\n"
      "mov $0, %%r8d\n mov $0, %%r9d\n mov $0, %%r10d\n mov $0, %%r11d\n"
      "mov $0, %%r12d\n mov $0, %%r13d\n mov $0, %%r14d\n mov $0, %%r15d\n"
      "jmp *softvt_corpus_entry+8(%%rip)\n" ::: "memory");
  __builtin_unreachable();
}

// Loads the data selector into DS/ES/SS (and SS last), then far-jumps
// through softvt_corpus_entry.far_off:far_sel with every GPR but RSP zero.
[[noreturn]] void enter_far() {
  asm volatile(
      "movzwl softvt_corpus_entry+22(%%rip), %%eax\n"
      "mov %%eax, %%ds\n mov %%eax, %%es\n"
      "mov softvt_corpus_entry(%%rip), %%rsp\n"
      "push $0x202\n popfq\n"
      "mov %%eax, %%ss\n"
      "mov $0, %%eax\n mov $0, %%ebx\n mov $0, %%ecx\n mov $0, %%edx\n"
      "mov $0, %%esi\n mov $0, %%edi\n mov $0, %%ebp\n"
      "mov $0, %%r8d\n mov $0, %%r9d\n mov $0, %%r10d\n mov $0, %%r11d\n"
      "mov $0, %%r12d\n mov $0, %%r13d\n mov $0, %%r14d\n mov $0, %%r15d\n"
      "ljmpl *softvt_corpus_entry+16(%%rip)\n" ::: "memory");
  __builtin_unreachable();
}

bool set_ldt_entry(unsigned entry, uint64_t base, bool code) {
  user_desc d{};
  d.entry_number = entry;
  d.base_addr = unsigned(base);
  d.limit = 0xffff;
  d.seg_32bit = 0;
  d.contents = code ? MODIFY_LDT_CONTENTS_CODE : MODIFY_LDT_CONTENTS_DATA;
  d.read_exec_only = 0;
  d.limit_in_pages = 0;
  d.seg_not_present = 0;
  d.useable = 1;
  return syscall(SYS_modify_ldt, 1, &d, sizeof d) == 0;
}

[[noreturn]] void child_run(const corpus::Program& p, const std::vector<uint8_t>& image, ChildContext& ctx) {
  g_child = &ctx;
  const uint64_t map_end = (p.load + std::max<uint64_t>(image.size(), 0x10000) + kMapTail + 0xfff) & ~uint64_t(0xfff);
  void* m = mmap(reinterpret_cast<void*>(kMapStart), map_end - kMapStart, PROT_READ | PROT_WRITE | PROT_EXEC,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (m != reinterpret_cast<void*>(kMapStart)) _exit(10);
  std::memcpy(reinterpret_cast<void*>(p.load), image.data(), image.size());
  static uint8_t altstack[1 << 16];
  stack_t ss{};
  ss.ss_sp = altstack;
  ss.ss_size = sizeof altstack;
  sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  for (int s : {SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGTRAP, SIGALRM}) sigaction(s, &sa, nullptr);
  alarm(5);
  if (p.mode == "long64") {
    softvt_corpus_entry.rsp = p.load;
    softvt_corpus_entry.target = p.load;
    enter_long64();
  }
  if (p.mode == "prot32") {
    softvt_corpus_entry.rsp = p.load;
    softvt_corpus_entry.far_off = uint32_t(p.load);
    softvt_corpus_entry.far_sel = kCompatCs;
    softvt_corpus_entry.data_sel = kUserDs;
    enter_far();
  }
  ctx.code_base = p.load;
  if (!set_ldt_entry(0, p.load, true) || !set_ldt_entry(1, p.load, false)) _exit(11);
  softvt_corpus_entry.rsp = 0xfff0;
  softvt_corpus_entry.far_off = 0;
  softvt_corpus_entry.far_sel = kLdtCode16;
  softvt_corpus_entry.data_sel = kLdtData16;
  enter_far();
}

struct NativeResult {
  std::string error;
  bool no_ldt = false;  // modify_ldt() is unavailable (CONFIG_MODIFY_LDT_SYSCALL=n)
  Report r{};
  std::vector<std::vector<uint8_t>> mem;
};

bool read_all(int fd, void* p, size_t n) {
  char* c = static_cast<char*>(p);
  while (n) {
    ssize_t r = ::read(fd, c, n);
    if (r <= 0) return false;
    c += r;
    n -= size_t(r);
  }
  return true;
}

NativeResult run_on_host(const corpus::Program& p) {
  NativeResult out;
  const std::string img = corpus::slurp(p.bin);
  const std::vector<uint8_t> image(img.begin(), img.end());
  ChildContext ctx{};
  for (const auto& [s, e] : corpus::dump_ranges(p)) ctx.dumps.push_back({s, e - s});
  int fds[2];
  if (pipe(fds) != 0) {
    out.error = "pipe failed";
    return out;
  }
  ctx.fd = fds[1];
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    child_run(p, image, ctx);
  }
  close(fds[1]);
  const bool got = read_all(fds[0], &out.r, sizeof out.r);
  for (const auto& [a, n] : ctx.dumps) {
    std::vector<uint8_t> b(n);
    if (got && read_all(fds[0], b.data(), n)) out.mem.push_back(b);
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  out.no_ldt = !got && WIFEXITED(status) && WEXITSTATUS(status) == 11;
  if (!got)
    out.error = "the child reported nothing (exit status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                "; 10 = cannot map the image, 11 = modify_ldt failed)";
  return out;
}

const char* const kGprNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                   "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

bool native_comparable(const std::string& key) {
  return key != "insns" && key.rfind("cr", 0) != 0 && key != "efer" && key.rfind("xmm", 0) != 0;
}

}  // namespace

TEST_CASE("guest corpus on the host CPU") {
  auto programs = corpus::load_corpus();
  REQUIRE(!programs.empty());
  for (const auto& p : programs) {
    if (!p.native_skip.empty()) {
      std::printf("not run natively: %s: %s\n", p.name.c_str(), p.native_skip.c_str());
      continue;
    }
    DYNAMIC_SECTION(p.name) {
      REQUIRE(p.header_errors.empty());
      const NativeResult n = run_on_host(p);
      INFO(p.name << " (" << p.mode << ") on the host CPU");
      if (n.no_ldt) {
        WARN(p.name << ": not run: this kernel has no modify_ldt(), needed for 16-bit segments");
        continue;
      }
      REQUIRE(n.error.empty());
      INFO("ended by signal " << n.r.sig << (n.r.at_hlt ? " at the HLT" : " NOT at a HLT") << ", ip "
                              << corpus::hex(n.r.ip));
      const uint64_t width = p.mode == "long64" ? ~uint64_t(0) : 0xffffffffull;
      std::map<std::string, std::string> st;
      for (int i = 0; i < 16; ++i) st[kGprNames[i]] = corpus::hex(n.r.gpr[i] & width);
      st["rip"] = corpus::hex(((n.r.ip & width) + 1) & (p.mode == "real16" ? 0xffff : width));
      st["rflags"] = corpus::hex(n.r.flags);
      st["exit"] = n.r.at_hlt ? "hlt" : "signal " + std::to_string(n.r.sig);
      corpus::Program q = p;
      q.expects.clear();
      for (const auto& kv : p.expects)
        if (native_comparable(kv.first)) q.expects.push_back(kv);
      q.flags_mask = (p.flags_mask ? *p.flags_mask : kDefaultFlagsMask) & ~uint64_t(0x200);
      for (const auto& m : corpus::compare_state(q, st)) {
        INFO(p.name << ": " << m.key << " expected " << m.expected << ", host CPU gave " << m.actual);
        CHECK(m.expected == m.actual);
      }
      const auto ranges = corpus::dump_ranges(p);
      for (size_t i = 0; i < ranges.size() && i < n.mem.size(); ++i)
        for (const auto& m : corpus::compare_mem(p, ranges[i].first, corpus::bytes_hex(n.mem[i]))) {
          INFO(p.name << ": " << m.key << " expected " << m.expected << ", host CPU gave " << m.actual);
          CHECK(m.expected == m.actual);
        }
    }
  }
}
