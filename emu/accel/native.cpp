// Native execution oracle: runs a flat image directly on the host CPU, as
// user-level code in a forked child (the contract is in accel.h). The
// child maps the image and the regions, installs fault handlers on an
// alternate stack, locks itself into seccomp strict mode and jumps to the
// snippet: a near jump for long64, a far jump to a 32-bit (Linux's
// compatibility-mode user segment) or 16-bit (an LDT segment) code segment
// for prot32 and real16. The first fault's register state and the memory
// contents go back to the parent through a pipe. Between fork and exit the
// child only makes system calls and copies memory: no allocation, no locks
// (fork of a possibly multithreaded process, and a snippet that may clobber
// memory). Once the snippet has loaded FS and GS with its own segments the
// signal handler runs with those: it uses no thread-local storage (raw
// system calls, no stack protector).
#include <asm/ldt.h>
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
#include <map>
#include <mutex>

#include "emu/accel/accel.h"

// Entering the snippet. Both entries set x87/SSE to their reset values
// with every register zero (softvt_native_reset_fpu), RFLAGS = 0x202, RSP, every other GPR 0, and
// jump through memory (no register may hold the target). MOV, unlike XOR,
// leaves RFLAGS alone.
//  softvt_native_enter(entry, rsp): a near jump in 64-bit mode.
//  softvt_native_enter_far(offset, code_sel, data_sel, rsp): DS, ES, FS,
//  GS and SS loaded with data_sel, then a far jump (FF /5, m16:32) to
//  code_sel:offset, whose descriptor selects 32- or 16-bit code.
extern "C" [[noreturn]] void softvt_native_enter(uint64_t entry, uint64_t rsp);
extern "C" [[noreturn]] void softvt_native_enter_far(uint32_t offset, uint32_t code_sel,
                                                     uint32_t data_sel, uint64_t rsp);
asm(R"(
    .text
    .type softvt_native_reset_fpu, @function
softvt_native_reset_fpu:
    # FXRSTOR of the reset image: FNINIT alone would empty the tags but
    # keep the parent's x87/MMX register contents, which FXSAVE, FNSAVE
    # and MMX reads still show (SDM Vol. 1 8.1.7); this zeroes ST0-7 and
    # XMM0-15 too, with FCW 0x37f and MXCSR 0x1f80.
    fxrstor softvt_native_fpu_image(%rip)
    ret
    .size softvt_native_reset_fpu, .-softvt_native_reset_fpu

    # Every GPR but RSP to 0 (movl, which leaves the flags alone).
    .macro zero_gprs
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
    .endm

    .globl softvt_native_enter
    .hidden softvt_native_enter
    .type softvt_native_enter, @function
softvt_native_enter:
    movq %rdi, softvt_native_entry(%rip)
    call softvt_native_reset_fpu
    pushq $0x202
    popfq
    movq %rsi, %rsp
    zero_gprs
    jmp *softvt_native_entry(%rip)
    .size softvt_native_enter, .-softvt_native_enter

    .globl softvt_native_enter_far
    .hidden softvt_native_enter_far
    .type softvt_native_enter_far, @function
softvt_native_enter_far:
    movl %edi, softvt_native_far(%rip)
    movw %si, softvt_native_far+4(%rip)
    call softvt_native_reset_fpu
    pushq $0x202
    popfq
    movl %edx, %ds
    movl %edx, %es
    movl %edx, %fs
    movl %edx, %gs
    movq %rcx, %rsp
    movl %edx, %ss
    zero_gprs
    ljmpl *softvt_native_far(%rip)
    .size softvt_native_enter_far, .-softvt_native_enter_far

    .data
    .p2align 3
softvt_native_entry:
    .quad 0
softvt_native_far:
    .long 0
    .word 0
    .section .rodata
    .p2align 4
softvt_native_fpu_image:
    .word 0x37f
    .zero 22
    .long 0x1f80
    .zero 484
    .text
)");

namespace softvt {
namespace {

constexpr uint64_t PAGE = 4096;
constexpr uint32_t REPORT_MAGIC = 0x4e545653;  // "SVTN"
constexpr uint64_t USER_LIMIT = 0x800000000000ull;  // end of the 47-bit user half
constexpr uint64_t FOUR_GIB = 0x100000000ull;

// Linux x86-64's GDT selectors for user code (arch/x86/include/asm/
// segment.h): __USER32_CS, a 32-bit code segment (compatibility mode), and
// __USER_DS, the flat data segment (base 0, limit 4 GiB, B = 1).
constexpr uint16_t USER32_CS = 0x23, USER_DS = 0x2b;
// The real16 mode's LDT entries 0 (code) and 1 (data), TI = 1, RPL 3.
constexpr unsigned LDT_CODE16_ENTRY = 0, LDT_DATA16_ENTRY = 1;
constexpr uint16_t LDT_CODE16 = (LDT_CODE16_ENTRY << 3) | 4 | 3;  // 0x07
constexpr uint16_t LDT_DATA16 = (LDT_DATA16_ENTRY << 3) | 4 | 3;  // 0x0f
constexpr uint64_t REAL16_SP = 0xfff0;  // the flat runner's real-mode SP

// What the child sends back first; the regions' bytes follow in order,
// then the image's pages.
struct Report {
  uint32_t magic;
  int32_t setup_errno;  // != 0: setting up failed, nothing ran
  int32_t setup_what;   // SetupStep, or i >= 0 for region i
  int32_t signal;
  int32_t si_code;
  int32_t trapno;
  uint64_t error_code;
  uint64_t fault_addr;
  uint64_t gpr[16];
  uint64_t rip;
  uint64_t rflags;
  uint64_t hlt;       // 1 if the fault was a HLT
  uint16_t sel[6];    // ES CS SS DS FS GS at the fault
  uint8_t fxsave[512];
};

enum SetupStep : int32_t { SETUP_IMAGE = -1, SETUP_SECCOMP = -2, SETUP_LDT = -3 };

// Everything the child needs, prepared by the parent before fork.
struct ChildPlan {
  int fd;
  FlatMode mode;
  uint64_t load;
  uint64_t image_map_len;
  const uint8_t* image;
  size_t image_size;
  const NativeRegion* regions;
  size_t nregions;
  uint64_t code_base;  // linear base of the snippet's CS
};

const ChildPlan* g_plan = nullptr;
alignas(64) uint8_t g_altstack[64 * 1024];

uint64_t round_up(uint64_t v) { return (v + PAGE - 1) & ~(PAGE - 1); }

// ---- child side ----------------------------------------------------------------
// Code reachable from the signal handler runs with the snippet's FS and GS
// (prot32, real16): no glibc call that may touch thread-local storage (the
// system-call wrappers set errno and test for cancellation through FS), and
// no stack protector (its canary is read through FS).
// AddressSanitizer also calls sigaltstack() before every call to a noreturn
// function (__asan_handle_no_return); after seccomp strict mode that system
// call kills the child, so the child's functions are left uninstrumented
// and a sanitizer build can run the oracle.
#define SOFTVT_NO_TLS __attribute__((no_stack_protector))
#define SOFTVT_CHILD_NO_ASAN __attribute__((no_sanitize_address))

SOFTVT_NO_TLS long raw_syscall3(long nr, long a, long b, long c) {
  long ret;
  asm volatile("syscall" : "=a"(ret) : "0"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return ret;
}

SOFTVT_NO_TLS void write_all(int fd, const void* p, size_t n) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  while (n > 0) {
    const long w = raw_syscall3(SYS_write, fd, long(b), long(n));
    if (w == -EINTR) continue;
    if (w <= 0) return;
    b += w;
    n -= size_t(w);
  }
}

[[noreturn]] SOFTVT_NO_TLS void child_exit() {
  // exit, not exit_group: the only way out seccomp strict mode allows (the
  // child has a single thread).
  for (;;) raw_syscall3(SYS_exit, 0, 0, 0);
}

// Whether [addr, addr+n) lies inside the image or one region (so the
// handler can read it without faulting again).
SOFTVT_NO_TLS bool readable(uint64_t addr, uint64_t n) {
  const ChildPlan& p = *g_plan;
  auto inside = [&](uint64_t base, uint64_t len) { return addr >= base && addr - base + n <= len; };
  if (inside(p.load, p.image_map_len)) return true;
  for (size_t i = 0; i < p.nregions; ++i)
    if (inside(p.regions[i].addr, p.regions[i].len)) return true;
  return false;
}

SOFTVT_NO_TLS bool is_legacy_prefix(uint8_t b) {
  return b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65 || b == 0x66 ||
         b == 0x67 || b == 0xf2 || b == 0xf3;
}

// A HLT at CPL 3 raises #GP(0) (SDM Vol. 2 HLT), which Linux reports as
// SIGSEGV at the HLT. Legacy prefixes (and REX in 64-bit mode: 40-4F are
// INC/DEC elsewhere) may precede the F4 opcode. `ip` is the offset in CS.
// Returns the offset after the HLT, or 0.
SOFTVT_NO_TLS uint64_t hlt_end(int sig, uint64_t ip) {
  if (sig != SIGSEGV) return 0;
  const uint64_t base = g_plan->code_base;
  const bool rex = g_plan->mode == FlatMode::Long64;
  for (uint64_t i = 0; i < 15 && readable(base + ip + i, 1); ++i) {
    const uint8_t b = *reinterpret_cast<const uint8_t*>(base + ip + i);
    if (b == 0xf4) return ip + i + 1;
    if (!is_legacy_prefix(b) && !(rex && b >= 0x40 && b <= 0x4f)) return 0;
  }
  return 0;
}

// The data segment registers as the snippet left them: the kernel's
// 64-bit signal delivery loads CS and SS only.
SOFTVT_NO_TLS void read_data_selectors(uint16_t sel[6]) {
  asm volatile("mov %%es, %0" : "=r"(sel[ES]));
  asm volatile("mov %%ds, %0" : "=r"(sel[DS]));
  asm volatile("mov %%fs, %0" : "=r"(sel[FS]));
  asm volatile("mov %%gs, %0" : "=r"(sel[GS]));
}

// ucontext register slots in the GPR encoding order.
constexpr int kGregSlot[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                               REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                               REG_R12, REG_R13, REG_R14, REG_R15};
// uc_flags bit saying the saved CSGSFS slot's top word holds SS
// (UC_SIGCONTEXT_SS, arch/x86/include/uapi/asm/ucontext.h).
constexpr unsigned long kUcSigcontextSs = 0x2;

SOFTVT_NO_TLS SOFTVT_CHILD_NO_ASAN void on_fault(int sig, siginfo_t* si, void* ctx) {
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
  // CSGSFS: cs in bits 0-15, ss in bits 48-63 (with UC_SIGCONTEXT_SS).
  const uint64_t csgsfs = uint64_t(g[REG_CSGSFS]);
  r.sel[CS] = uint16_t(csgsfs);
  if (uc->uc_flags & kUcSigcontextSs) r.sel[SS] = uint16_t(csgsfs >> 48);
  read_data_selectors(r.sel);
  if (const uint64_t end = hlt_end(sig, r.rip)) {
    r.hlt = 1;
    r.rip = end;
  }
  if (uc->uc_mcontext.fpregs) {
    const auto* f = reinterpret_cast<const volatile uint8_t*>(uc->uc_mcontext.fpregs);
    for (size_t i = 0; i < sizeof r.fxsave; ++i) r.fxsave[i] = f[i];
  }
  write_all(g_plan->fd, &r, sizeof r);
  for (size_t i = 0; i < g_plan->nregions; ++i)
    write_all(g_plan->fd, reinterpret_cast<const void*>(g_plan->regions[i].addr), g_plan->regions[i].len);
  write_all(g_plan->fd, reinterpret_cast<const void*>(g_plan->load), g_plan->image_map_len);
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

// A present, readable/writable, byte-granular 16-bit segment of the
// process's LDT (modify_ldt(2), func 1) with limit 0xFFFF: a code segment
// with D = 0 or a data segment with B = 0, DPL 3.
int set_ldt_segment16(unsigned entry, uint64_t base, bool code) {
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
  return syscall(SYS_modify_ldt, 1, &d, sizeof d) == 0 ? 0 : errno;
}

[[noreturn]] SOFTVT_CHILD_NO_ASAN void enter_snippet(const ChildPlan& plan) {
  switch (plan.mode) {
    case FlatMode::Long64: softvt_native_enter(plan.load, plan.load);
    case FlatMode::Prot32: softvt_native_enter_far(uint32_t(plan.load), USER32_CS, USER_DS, plan.load);
    default: softvt_native_enter_far(0, LDT_CODE16, LDT_DATA16, REAL16_SP);
  }
}

[[noreturn]] SOFTVT_CHILD_NO_ASAN void child_main(const ChildPlan& plan) {
  g_plan = &plan;
  if (int e = map_exact(plan.load, plan.image_map_len)) report_setup_error(plan.fd, SETUP_IMAGE, e);
  std::memcpy(reinterpret_cast<void*>(plan.load), plan.image, plan.image_size);
  for (size_t i = 0; i < plan.nregions; ++i)
    if (int e = map_exact(plan.regions[i].addr, plan.regions[i].len)) report_setup_error(plan.fd, int(i), e);
  if (plan.mode == FlatMode::Real16) {
    for (const auto& [entry, code] : {std::pair{LDT_CODE16_ENTRY, true}, std::pair{LDT_DATA16_ENTRY, false}})
      if (int e = set_ldt_segment16(entry, plan.load, code)) report_setup_error(plan.fd, SETUP_LDT, e);
  }
  install_fault_handlers();
  for (int fd = 0; fd <= 2; ++fd)
    if (fd != plan.fd) close(fd);
  // From here on only read, write, exit and sigreturn are possible.
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0) report_setup_error(plan.fd, SETUP_SECCOMP, errno);
  enter_snippet(plan);
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
                         const std::vector<NativeRegion>& regions, FlatMode mode) {
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
    // 32-bit code reaches only the first 4 GiB (its segments' limit).
    if (mode == FlatMode::Prot32 && (r.addr >= FOUR_GIB || r.len > FOUR_GIB - r.addr))
      return r.name + " at " + hex(r.addr) + " lies beyond 4 GiB, out of reach of prot32 code";
    for (size_t j = 0; j < i; ++j)
      if (r.addr < ranges[j].addr + ranges[j].len && ranges[j].addr < r.addr + r.len)
        return r.name + " overlaps " + ranges[j].name;
  }
  // The LDT segments' base is 32 bits wide.
  if (mode == FlatMode::Real16 && load >= FOUR_GIB)
    return "the image at " + hex(load) + " lies beyond 4 GiB: a real16 segment base is 32 bits";
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

// The mode the CPU runs the snippet in, as CpuState describes it: 32- and
// 16-bit code segments under a 64-bit kernel execute in compatibility mode
// (SDM Vol. 3A 2.2), which runs them as protected mode does.
void set_mode(FlatMode m, CpuState& s) {
  switch (m) {
    case FlatMode::Long64: s.mode = Mode::Long64; s.code_size = 8; s.stack_size = 8; break;
    case FlatMode::Prot32: s.mode = Mode::Compat32; s.code_size = 4; s.stack_size = 4; break;
    default: s.mode = Mode::Compat16; s.code_size = 2; s.stack_size = 2; break;
  }
  s.cpl = 3;
}

void fill_outcome(const Report& r, FlatMode mode, NativeOutcome& o) {
  o.signal = r.signal;
  o.vector = r.trapno;
  o.error_code = r.error_code;
  o.fault_addr = r.fault_addr;
  o.ended_by_hlt = r.hlt != 0;
  for (int i = 0; i < 16; ++i) o.state.gpr[i] = r.gpr[i];
  o.state.rip = r.rip;
  o.state.rflags = r.rflags;
  for (int i = 0; i < 6; ++i) o.state.seg[i].sel = r.sel[i];
  std::memcpy(o.state.xsave, r.fxsave, sizeof r.fxsave);
  set_mode(mode, o.state);
  o.detail = o.ended_by_hlt ? "hlt"
                            : std::string(strsignal(r.signal)) + " (vector " + std::to_string(r.trapno) +
                                  ", error code " + hex(r.error_code) + ") at rip " + hex(r.rip);
}

std::string setup_error_text(const Report& r, uint64_t load, const std::vector<NativeRegion>& regions) {
  std::string what;
  switch (r.setup_what) {
    case SETUP_IMAGE: what = "mapping the image at " + hex(load); break;
    case SETUP_SECCOMP: what = "entering seccomp strict mode"; break;
    case SETUP_LDT: what = "making the 16-bit LDT segments (modify_ldt)"; break;
    default:
      what = "mapping region " + std::to_string(r.setup_what) + " at " + hex(regions[size_t(r.setup_what)].addr);
  }
  std::string d = what + ": " + std::strerror(r.setup_errno);
  if (r.setup_errno == EEXIST) d += " (the address is already in use in this process)";
  if (r.setup_what == SETUP_LDT && r.setup_errno == ENOSYS)
    d += " (a kernel built without CONFIG_MODIFY_LDT_SYSCALL)";
  return d;
}

// Reads the regions' and then the image's final contents.
bool read_memory(int fd, const std::vector<NativeRegion>& regions, uint64_t image_len, uint64_t deadline,
                 bool& timed_out, NativeOutcome& o) {
  for (const NativeRegion& reg : regions) {
    o.regions.emplace_back(reg.len);
    if (!read_until(fd, o.regions.back().data(), reg.len, deadline, timed_out)) return false;
  }
  o.image.resize(image_len);
  return read_until(fd, o.image.data(), image_len, deadline, timed_out);
}

}  // namespace

NativeOutcome run_native(const std::vector<uint8_t>& image, uint64_t load,
                         const std::vector<NativeRegion>& regions, const NativeOptions& opt) {
  NativeOutcome o;
  o.detail = check_layout(image, load, regions, opt.mode);
  if (!o.detail.empty()) return o;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) {
    o.detail = std::string("pipe: ") + std::strerror(errno);
    return o;
  }
  const uint64_t image_len = round_up(image.size());
  const ChildPlan plan{fds[1], opt.mode, load, image_len, image.data(), image.size(),
                       regions.data(), regions.size(), opt.mode == FlatMode::Real16 ? load : 0};
  // now_ms() truncates to whole milliseconds: one more keeps the snippet
  // running for at least timeout_ms (the test saw 299 ms for a 300 ms limit).
  const uint64_t deadline = now_ms() + opt.timeout_ms + 1;
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
  if (complete && r.setup_errno == 0) complete = read_memory(fds[0], regions, image_len, deadline, timed_out, o);
  if (timed_out) kill(pid, SIGKILL);
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    o.detail = "timeout: the snippet ran for more than " + std::to_string(opt.timeout_ms) + " ms";
  } else if (!complete) {
    o.detail = describe_exit(status);
  } else if (r.setup_errno != 0) {
    o.detail = setup_error_text(r, load, regions);
  } else {
    o.ran = true;
    fill_outcome(r, opt.mode, o);
    return o;
  }
  o.regions.clear();
  o.image.clear();
  return o;
}

NativeOutcome run_native(const std::vector<uint8_t>& image, uint64_t load,
                         const std::vector<NativeRegion>& regions, uint64_t timeout_ms) {
  NativeOptions opt;
  opt.timeout_ms = timeout_ms;
  return run_native(image, load, regions, opt);
}

std::string native_unavailable_reason(FlatMode mode) {
  // Probed once per mode: a HLT, which ends every native run. The image
  // sits at 64 KiB, a typical flat-runner load address.
  static std::mutex lock;
  static std::map<FlatMode, std::string> known;
  const std::lock_guard<std::mutex> hold(lock);
  const auto it = known.find(mode);
  if (it != known.end()) return it->second;
  NativeOptions opt;
  opt.mode = mode;
  const NativeOutcome o = run_native({0xf4}, 0x10000, {}, opt);
  std::string why;
  if (!o.ran) why = o.detail.empty() ? "the native oracle cannot run code on this host" : o.detail;
  else if (!o.ended_by_hlt) why = "a lone HLT ended in " + o.detail + " instead of the HLT's #GP";
  return known[mode] = why;
}

}  // namespace softvt
