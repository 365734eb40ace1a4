// Native execution oracle: runs a 64-bit snippet directly on the host CPU,
// as user-level code in a forked child (the contract is in accel.h). The
// child maps the image and the regions, installs fault handlers on an
// alternate stack, locks itself into seccomp strict mode and jumps to the
// snippet; the first fault's register state and the regions' contents go
// back to the parent through a pipe. Between fork and exit the child only
// makes system calls and copies memory: no allocation, no locks (fork of
// a possibly multithreaded process, and a snippet that may clobber memory).
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "emu/accel/accel.h"

// Enters the snippet: x87/SSE to their reset values, RFLAGS = 0x202, RSP =
// `rsp`, every other GPR 0, then an indirect jump through memory (no
// register may hold the target). MOV, unlike XOR, leaves RFLAGS alone.
extern "C" [[noreturn]] void softvt_native_enter(uint64_t entry, uint64_t rsp);
asm(R"(
    .text
    .globl softvt_native_enter
    .hidden softvt_native_enter
    .type softvt_native_enter, @function
softvt_native_enter:
    movq %rdi, softvt_native_entry(%rip)
    fninit
    ldmxcsr softvt_native_mxcsr(%rip)
    pxor %xmm0, %xmm0
    pxor %xmm1, %xmm1
    pxor %xmm2, %xmm2
    pxor %xmm3, %xmm3
    pxor %xmm4, %xmm4
    pxor %xmm5, %xmm5
    pxor %xmm6, %xmm6
    pxor %xmm7, %xmm7
    pxor %xmm8, %xmm8
    pxor %xmm9, %xmm9
    pxor %xmm10, %xmm10
    pxor %xmm11, %xmm11
    pxor %xmm12, %xmm12
    pxor %xmm13, %xmm13
    pxor %xmm14, %xmm14
    pxor %xmm15, %xmm15
    pushq $0x202
    popfq
    movq %rsi, %rsp
    movl $0, %eax
    movl $0, %ecx
    movl $0, %edx
    movl $0, %ebx
    movl $0, %ebp
    movl $0, %esi
    movl $0, %edi
    movl $0, %r8d
    movl $0, %r9d
    movl $0, %r10d
    movl $0, %r11d
    movl $0, %r12d
    movl $0, %r13d
    movl $0, %r14d
    movl $0, %r15d
    jmp *softvt_native_entry(%rip)
    .size softvt_native_enter, .-softvt_native_enter
    .data
    .p2align 3
softvt_native_entry:
    .quad 0
softvt_native_mxcsr:
    .long 0x1f80
    .text
)");

namespace softvt {
namespace {

constexpr uint64_t PAGE = 4096;
constexpr uint32_t REPORT_MAGIC = 0x4e545653;  // "SVTN"
constexpr uint64_t USER_LIMIT = 0x800000000000ull;  // end of the 47-bit user half

// What the child sends back first; the regions' bytes follow in order.
struct Report {
  uint32_t magic;
  int32_t setup_errno;  // != 0: mapping failed, nothing ran
  int32_t setup_what;   // -1 the image, i >= 0 region i
  int32_t signal;
  int32_t si_code;
  int32_t trapno;
  uint64_t error_code;
  uint64_t fault_addr;
  uint64_t gpr[16];
  uint64_t rip;
  uint64_t rflags;
  uint64_t hlt;       // 1 if the fault was a HLT
  uint8_t fxsave[512];
};

// Everything the child needs, prepared by the parent before fork.
struct ChildPlan {
  int fd;
  uint64_t load;
  uint64_t image_map_len;
  const uint8_t* image;
  size_t image_size;
  const NativeRegion* regions;
  size_t nregions;
};

const ChildPlan* g_plan = nullptr;
alignas(64) uint8_t g_altstack[64 * 1024];

uint64_t round_up(uint64_t v) { return (v + PAGE - 1) & ~(PAGE - 1); }

// ---- child side ----------------------------------------------------------------

// AddressSanitizer calls sigaltstack() before every call to a noreturn
// function (__asan_handle_no_return); after seccomp strict mode that system
// call kills the child. The functions that make such calls once the filter
// is on are left uninstrumented, so a sanitizer build can run the oracle.
#define SOFTVT_CHILD_NO_ASAN __attribute__((no_sanitize_address))

void write_all(int fd, const void* p, size_t n) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  while (n > 0) {
    const ssize_t w = write(fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    b += w;
    n -= size_t(w);
  }
}

[[noreturn]] void child_exit() {
  // exit, not exit_group: the only way out seccomp strict mode allows (the
  // child has a single thread).
  syscall(SYS_exit, 0);
  __builtin_unreachable();
}

// Whether [addr, addr+n) lies inside the image or one region (so the
// handler can read it without faulting again).
bool readable(uint64_t addr, uint64_t n) {
  const ChildPlan& p = *g_plan;
  auto inside = [&](uint64_t base, uint64_t len) { return addr >= base && addr - base + n <= len; };
  if (inside(p.load, p.image_map_len)) return true;
  for (size_t i = 0; i < p.nregions; ++i)
    if (inside(p.regions[i].addr, p.regions[i].len)) return true;
  return false;
}

// A HLT at CPL 3 raises #GP(0) (SDM Vol. 2 HLT), which Linux reports as
// SIGSEGV at the HLT. Legacy and REX prefixes may precede the F4 opcode.
// Returns the address after the HLT, or 0.
uint64_t hlt_end(int sig, uint64_t rip) {
  if (sig != SIGSEGV) return 0;
  for (uint64_t i = 0; i < 15 && readable(rip + i, 1); ++i) {
    const uint8_t b = *reinterpret_cast<const uint8_t*>(rip + i);
    if (b == 0xf4) return rip + i + 1;
    const bool prefix = b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 ||
                        b == 0x65 || b == 0x66 || b == 0x67 || b == 0xf2 || b == 0xf3 ||
                        (b >= 0x40 && b <= 0x4f);
    if (!prefix) return 0;
  }
  return 0;
}

// ucontext register slots in the GPR encoding order.
constexpr int kGregSlot[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                               REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                               REG_R12, REG_R13, REG_R14, REG_R15};

SOFTVT_CHILD_NO_ASAN void on_fault(int sig, siginfo_t* si, void* ctx) {
  const auto* uc = static_cast<const ucontext_t*>(ctx);
  const greg_t* g = uc->uc_mcontext.gregs;
  Report r{};
  r.magic = REPORT_MAGIC;
  r.signal = sig;
  r.si_code = si->si_code;
  r.trapno = int32_t(g[REG_TRAPNO]);
  r.error_code = uint64_t(g[REG_ERR]);
  r.fault_addr = reinterpret_cast<uint64_t>(si->si_addr);
  for (int i = 0; i < 16; ++i) r.gpr[i] = uint64_t(g[kGregSlot[i]]);
  r.rip = uint64_t(g[REG_RIP]);
  r.rflags = uint64_t(g[REG_EFL]);
  if (const uint64_t end = hlt_end(sig, r.rip)) {
    r.hlt = 1;
    r.rip = end;
  }
  if (uc->uc_mcontext.fpregs) std::memcpy(r.fxsave, uc->uc_mcontext.fpregs, sizeof r.fxsave);
  write_all(g_plan->fd, &r, sizeof r);
  for (size_t i = 0; i < g_plan->nregions; ++i)
    write_all(g_plan->fd, reinterpret_cast<const void*>(g_plan->regions[i].addr), g_plan->regions[i].len);
  child_exit();
}

[[noreturn]] SOFTVT_CHILD_NO_ASAN void report_setup_error(int fd, int what, int err) {
  Report r{};
  r.magic = REPORT_MAGIC;
  r.setup_errno = err ? err : EINVAL;
  r.setup_what = what;
  write_all(fd, &r, sizeof r);
  child_exit();
}

// Maps [addr, addr+len) RWX, failing if anything is mapped there already.
int map_exact(uint64_t addr, uint64_t len) {
  void* want = reinterpret_cast<void*>(addr);
  void* p = mmap(want, len, PROT_READ | PROT_WRITE | PROT_EXEC,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p == MAP_FAILED) return errno;
  if (p != want) {  // a kernel without MAP_FIXED_NOREPLACE treats it as a hint
    munmap(p, len);
    return EEXIST;
  }
  return 0;
}

void install_fault_handlers() {
  stack_t ss{};
  ss.ss_sp = g_altstack;
  ss.ss_size = sizeof g_altstack;
  sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigfillset(&sa.sa_mask);
  sigset_t mask;
  sigfillset(&mask);
  for (int sig : {SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGBUS}) {
    sigaction(sig, &sa, nullptr);
    sigdelset(&mask, sig);
  }
  sigprocmask(SIG_SETMASK, &mask, nullptr);
}

[[noreturn]] SOFTVT_CHILD_NO_ASAN void child_main(const ChildPlan& plan) {
  g_plan = &plan;
  if (int e = map_exact(plan.load, plan.image_map_len)) report_setup_error(plan.fd, -1, e);
  std::memcpy(reinterpret_cast<void*>(plan.load), plan.image, plan.image_size);
  for (size_t i = 0; i < plan.nregions; ++i)
    if (int e = map_exact(plan.regions[i].addr, plan.regions[i].len)) report_setup_error(plan.fd, int(i), e);
  install_fault_handlers();
  for (int fd = 0; fd <= 2; ++fd)
    if (fd != plan.fd) close(fd);
  // From here on only read, write, exit and sigreturn are possible.
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0) report_setup_error(plan.fd, -2, errno);
  softvt_native_enter(plan.load, plan.load);
}

// ---- parent side ------------------------------------------------------------------

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

uint64_t mmap_min_addr() {
  std::ifstream f("/proc/sys/vm/mmap_min_addr");
  uint64_t v = 65536;
  f >> v;
  return v;
}

// Checks the layout before forking; returns the problem or "".
std::string check_layout(const std::vector<uint8_t>& image, uint64_t load,
                         const std::vector<NativeRegion>& regions) {
  if (image.empty()) return "the image is empty";
  const uint64_t min = mmap_min_addr();
  struct Range {
    uint64_t addr, len;
    std::string name;
  };
  std::vector<Range> ranges{{load, round_up(image.size()), "the image"}};
  for (size_t i = 0; i < regions.size(); ++i)
    ranges.push_back({regions[i].addr, regions[i].len, "region " + std::to_string(i)});
  for (size_t i = 0; i < ranges.size(); ++i) {
    const Range& r = ranges[i];
    if ((r.addr | r.len) % PAGE) return r.name + " at " + hex(r.addr) + " is not page aligned";
    if (r.len == 0) return r.name + " is empty";
    if (r.addr < min)
      return r.name + " at " + hex(r.addr) + " lies below vm.mmap_min_addr (" + hex(min) + ")";
    if (r.addr >= USER_LIMIT || r.len > USER_LIMIT - r.addr)
      return r.name + " at " + hex(r.addr) + " lies outside the user address space";
    for (size_t j = 0; j < i; ++j)
      if (r.addr < ranges[j].addr + ranges[j].len && ranges[j].addr < r.addr + r.len)
        return r.name + " overlaps " + ranges[j].name;
  }
  return "";
}

uint64_t now_ms() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return uint64_t(t.tv_sec) * 1000 + uint64_t(t.tv_nsec) / 1000000;
}

// Reads exactly `n` bytes before `deadline`; returns false on EOF or timeout
// (`timed_out` says which).
bool read_until(int fd, uint8_t* p, size_t n, uint64_t deadline, bool& timed_out) {
  while (n > 0) {
    const uint64_t now = now_ms();
    if (now >= deadline) {
      timed_out = true;
      return false;
    }
    pollfd pfd{fd, POLLIN, 0};
    const int r = poll(&pfd, 1, int(std::min<uint64_t>(deadline - now, 1u << 30)));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) continue;  // the deadline check above ends it
    const ssize_t got = read(fd, p, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got;
    n -= size_t(got);
  }
  return true;
}

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    std::string d = std::string("the child was killed by ") + strsignal(sig);
    if (sig == SIGKILL) d += " (a system call in the snippet ends it under seccomp strict mode)";
    return d;
  }
  return "the child exited with status " + std::to_string(WEXITSTATUS(status)) + " without a report";
}

void fill_outcome(const Report& r, NativeOutcome& o) {
  o.signal = r.signal;
  o.vector = r.trapno;
  o.error_code = r.error_code;
  o.fault_addr = r.fault_addr;
  o.ended_by_hlt = r.hlt != 0;
  for (int i = 0; i < 16; ++i) o.state.gpr[i] = r.gpr[i];
  o.state.rip = r.rip;
  o.state.rflags = r.rflags;
  std::memcpy(o.state.xsave, r.fxsave, sizeof r.fxsave);
  o.state.mode = Mode::Long64;
  o.state.cpl = 3;
  o.detail = o.ended_by_hlt ? "hlt"
                            : std::string(strsignal(r.signal)) + " (vector " + std::to_string(r.trapno) +
                                  ", error code " + hex(r.error_code) + ") at rip " + hex(r.rip);
}

std::string setup_error_text(const Report& r, uint64_t load, const std::vector<NativeRegion>& regions) {
  std::string what;
  if (r.setup_what == -1) what = "mapping the image at " + hex(load);
  else if (r.setup_what == -2) what = "entering seccomp strict mode";
  else what = "mapping region " + std::to_string(r.setup_what) + " at " + hex(regions[size_t(r.setup_what)].addr);
  std::string d = what + ": " + std::strerror(r.setup_errno);
  if (r.setup_errno == EEXIST) d += " (the address is already in use in this process)";
  return d;
}

}  // namespace

NativeOutcome run_native(const std::vector<uint8_t>& image, uint64_t load,
                         const std::vector<NativeRegion>& regions, uint64_t timeout_ms) {
  NativeOutcome o;
  o.detail = check_layout(image, load, regions);
  if (!o.detail.empty()) return o;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) {
    o.detail = std::string("pipe: ") + std::strerror(errno);
    return o;
  }
  const ChildPlan plan{fds[1], load, round_up(image.size()), image.data(), image.size(),
                       regions.data(), regions.size()};
  const uint64_t deadline = now_ms() + timeout_ms;
  const pid_t pid = fork();
  if (pid < 0) {
    o.detail = std::string("fork: ") + std::strerror(errno);
    close(fds[0]);
    close(fds[1]);
    return o;
  }
  if (pid == 0) {
    close(fds[0]);
    child_main(plan);
  }
  close(fds[1]);
  Report r{};
  bool timed_out = false;
  bool complete = read_until(fds[0], reinterpret_cast<uint8_t*>(&r), sizeof r, deadline, timed_out) &&
                  r.magic == REPORT_MAGIC;
  if (complete && r.setup_errno == 0) {
    for (const NativeRegion& reg : regions) {
      o.regions.emplace_back(reg.len);
      if (!read_until(fds[0], o.regions.back().data(), reg.len, deadline, timed_out)) {
        complete = false;
        break;
      }
    }
  }
  if (timed_out) kill(pid, SIGKILL);
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    o.detail = "timeout: the snippet ran for more than " + std::to_string(timeout_ms) + " ms";
  } else if (!complete) {
    o.detail = describe_exit(status);
  } else if (r.setup_errno != 0) {
    o.detail = setup_error_text(r, load, regions);
  } else {
    o.ran = true;
    fill_outcome(r, o);
    return o;
  }
  o.regions.clear();
  return o;
}

}  // namespace softvt
