// The host-KVM backend: runs the same machine (guest RAM + initial CpuState)
// on /dev/kvm as the real-CPU oracle for differential testing (DESIGN.md
// "Accelerators"). The KVM API used here is Documentation/virt/kvm/api.rst
// of the Linux kernel; docs/oracles.md records what this host's KVM can run.
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "decoder/decoder.h"
#include "emu/accel/accel.h"
#include "emu/accel/kvm_state.h"
#include "emu/accel/kvm_step.h"
#include "emu/block_cache.h"

namespace softvt {
namespace {

// KVM_GET_API_VERSION must return 12 (api.rst 4.1: "applications should
// refuse to run if KVM_GET_API_VERSION returns a value other than 12").
constexpr int KVM_STABLE_API_VERSION = 12;
constexpr uint32_t MAX_CPUID_ENTRIES = 256;
// The real-mode TSS KVM needs on hosts without unrestricted guest (api.rst
// KVM_SET_TSS_ADDR: three pages, not overlapping guest memory), placed just
// below 4 GiB like other VMMs do.
constexpr uint64_t TSS_ADDR = 0xfffbd000;
// DR7 (SDM 17.2.4): L0 enables breakpoint 0 (R/W0 = 00: instruction
// execution, LEN0 = 00); bit 10 reads as 1.
constexpr uint64_t DR7_L0 = 1, DR7_FIXED1 = 1u << 10;

// linux/kvm.h declares kvm_cpuid2's and kvm_msrs's entry arrays with
// __DECLARE_FLEX_ARRAY, which in C++ adds a byte of empty struct: sizeof and
// the entries' offset then differ from the kernel's C layout (and so do
// the ioctl numbers, which encode the size). These follow the C layout:
// an 8-byte header {count, padding}, entries right after it.
constexpr size_t KVM_LIST_HEADER = 8;
constexpr unsigned long IOCTL_GET_SUPPORTED_CPUID = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x05, KVM_LIST_HEADER);
constexpr unsigned long IOCTL_SET_CPUID2 = _IOC(_IOC_WRITE, KVMIO, 0x90, KVM_LIST_HEADER);
constexpr unsigned long IOCTL_GET_MSRS = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x88, KVM_LIST_HEADER);
constexpr unsigned long IOCTL_SET_MSRS = _IOC(_IOC_WRITE, KVMIO, 0x89, KVM_LIST_HEADER);

// A {count, padding, entries[]} list in the kernel's C layout.
template <typename Entry>
class KvmList {
 public:
  explicit KvmList(size_t n) : bytes_(KVM_LIST_HEADER + n * sizeof(Entry), 0) { set_count(n); }
  void* data() { return bytes_.data(); }
  uint32_t count() const {
    uint32_t n;
    std::memcpy(&n, bytes_.data(), 4);
    return n;
  }
  void set_count(size_t n) {
    const uint32_t v = uint32_t(n);
    std::memcpy(bytes_.data(), &v, 4);
  }
  Entry get(size_t i) const {
    Entry e;
    std::memcpy(&e, bytes_.data() + KVM_LIST_HEADER + i * sizeof(Entry), sizeof e);
    return e;
  }
  void put(size_t i, const Entry& e) {
    std::memcpy(bytes_.data() + KVM_LIST_HEADER + i * sizeof(Entry), &e, sizeof e);
  }

 private:
  std::vector<uint8_t> bytes_;
};

std::string sys_error(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

// The KVM device: /dev/kvm unless SOFTVT_KVM_DEVICE names another path
// (tests use it to see the backend's behaviour where KVM is missing).
std::string kvm_device() {
  const char* env = std::getenv("SOFTVT_KVM_DEVICE");
  return env && *env ? env : "/dev/kvm";
}

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// /dev/kvm with one VM, one vCPU and the vCPU's shared kvm_run area.
class KvmVm {
 public:
  KvmVm() = default;
  KvmVm(const KvmVm&) = delete;
  KvmVm& operator=(const KvmVm&) = delete;
  ~KvmVm() {
    if (run_) munmap(run_, run_size_);
  }

  std::string create() {
    const std::string dev = kvm_device();
    kvm_ = Fd(open(dev.c_str(), O_RDWR | O_CLOEXEC));
    if (!kvm_.ok()) return sys_error(dev);
    const int version = ioctl(kvm_.get(), KVM_GET_API_VERSION, 0);
    if (version != KVM_STABLE_API_VERSION)
      return dev + ": KVM_GET_API_VERSION returned " + std::to_string(version) + ", expected 12";
    if (ioctl(kvm_.get(), KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0)
      return dev + ": KVM_CAP_IMMEDIATE_EXIT is missing (needed for the run timeout)";
    constexpr int SYNC = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
    if ((ioctl(kvm_.get(), KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) & SYNC) != SYNC)
      return dev + ": KVM_CAP_SYNC_REGS is missing (needed for single-stepping)";
    vm_ = Fd(ioctl(kvm_.get(), KVM_CREATE_VM, 0));
    if (!vm_.ok()) return sys_error("KVM_CREATE_VM");
    if (ioctl(kvm_.get(), KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
        ioctl(vm_.get(), KVM_SET_TSS_ADDR, TSS_ADDR) < 0)
      return sys_error("KVM_SET_TSS_ADDR");
    vcpu_ = Fd(ioctl(vm_.get(), KVM_CREATE_VCPU, 0));
    if (!vcpu_.ok()) return sys_error("KVM_CREATE_VCPU");
    const int size = ioctl(kvm_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < int(sizeof(kvm_run))) return sys_error("KVM_GET_VCPU_MMAP_SIZE");
    void* p = mmap(nullptr, size_t(size), PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_.get(), 0);
    if (p == MAP_FAILED) return sys_error("mmap of the vCPU's kvm_run area");
    run_ = static_cast<kvm_run*>(p);
    run_size_ = size_t(size);
    return "";
  }

  // Guest RAM is slot 0 at guest-physical 0, backed by Memory's mapping
  // itself, so the guest's stores are visible to the caller afterwards.
  std::string map_ram(Memory& mem) {
    kvm_userspace_memory_region r{};
    r.slot = 0;
    r.guest_phys_addr = 0;
    r.memory_size = mem.ram_size();
    r.userspace_addr = reinterpret_cast<uint64_t>(mem.ram());
    if (mem.ram_size() > TSS_ADDR) return "guest RAM above " + hex(TSS_ADDR) + " is not supported";
    if (ioctl(vm_.get(), KVM_SET_USER_MEMORY_REGION, &r) < 0)
      return sys_error("KVM_SET_USER_MEMORY_REGION");
    return "";
  }

  int kvm() const { return kvm_.get(); }
  int vcpu() const { return vcpu_.get(); }
  kvm_run* run() const { return run_; }

 private:
  Fd kvm_, vm_, vcpu_;
  kvm_run* run_ = nullptr;
  size_t run_size_ = 0;
};

// ---- wall-clock limit -------------------------------------------------------
// A one-shot POSIX timer sends a signal to the vCPU thread; the handler sets
// kvm_run.immediate_exit, so KVM_RUN returns EINTR whether the signal lands
// inside KVM_RUN or just before it enters (api.rst, "immediate_exit").
thread_local kvm_run* tls_kick_run __attribute__((tls_model("initial-exec"))) = nullptr;
thread_local volatile sig_atomic_t tls_timed_out __attribute__((tls_model("initial-exec"))) = 0;

void on_timeout_signal(int) {
  tls_timed_out = 1;
  if (tls_kick_run) tls_kick_run->immediate_exit = 1;
}

int timeout_signal() { return SIGRTMIN; }

class Watchdog {
 public:
  Watchdog() = default;
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog() {
    if (armed_) timer_delete(timer_);
    tls_kick_run = nullptr;
  }

  std::string arm(kvm_run* run, uint64_t ms) {
    struct sigaction sa {};
    sa.sa_handler = on_timeout_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(timeout_signal(), &sa, nullptr) < 0) return sys_error("sigaction");
    tls_timed_out = 0;
    tls_kick_run = run;
    sigevent ev{};
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = timeout_signal();
    ev._sigev_un._tid = gettid();  // glibc's name for sigev_notify_thread_id
    if (timer_create(CLOCK_MONOTONIC, &ev, &timer_) < 0) return sys_error("timer_create");
    armed_ = true;
    itimerspec t{};
    t.it_value.tv_sec = time_t(ms / 1000);
    t.it_value.tv_nsec = long(ms % 1000) * 1000000;
    if (ms == 0) t.it_value.tv_nsec = 1;  // 0 would disarm the timer
    if (timer_settime(timer_, 0, &t, nullptr) < 0) return sys_error("timer_settime");
    return "";
  }
  bool fired() const { return tls_timed_out != 0; }

 private:
  timer_t timer_{};
  bool armed_ = false;
};

// ---- one run ----------------------------------------------------------------

const char* internal_error_name(uint32_t suberror) {
  switch (suberror) {
    case KVM_INTERNAL_ERROR_EMULATION: return "instruction emulation failed";
    case KVM_INTERNAL_ERROR_SIMUL_EX: return "simultaneous exceptions";
    case KVM_INTERNAL_ERROR_DELIVERY_EV: return "VM exit during event delivery";
    case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "unexpected VM-exit reason";
    default: return "unknown internal error";
  }
}

class KvmRun {
 public:
  KvmRun(KvmVm& vm, Memory& mem, const CpuState& init, const CpuModel& model,
         const RunOptions& opt)
      : vm_(vm), run_(vm.run()), mem_(mem), init_(init), model_(model), opt_(opt),
        stepping_(opt.max_insns != ~uint64_t(0)), view_(vm.vcpu(), mem), decoder_(model),
        steps_(view_, mem, model), scratch_(mem, model) {}

  RunOutcome run() {
    out_.state = init_;
    out_.insn_count_known = stepping_;
    if (!fail(load_state()) && !fail(watchdog_.arm(run_, opt_.timeout_ms))) {
      cur_ = init_;
      loop();
    }
    if (out_.stop != StopReason::Error) fail(read_state(out_.state));
    // Without single-stepping nothing counts instructions: the count is
    // unknown, reported as 0 with insn_count_known = false.
    out_.state.insn_count = stepping_ ? init_.insn_count + counted_ : 0;
    return out_;
  }

 private:
  // Records an error (if `err` is not empty); returns whether it did.
  bool fail(const std::string& err) {
    if (err.empty()) return false;
    stop(StopReason::Error, err);
    return true;
  }
  void stop(StopReason r, const std::string& detail = "") {
    out_.stop = r;
    out_.detail = detail;
  }

  std::string vcpu_ioctl(unsigned long req, void* arg, const char* name) {
    return ioctl(vm_.vcpu(), req, arg) < 0 ? sys_error(name) : "";
  }

  // ---- state in ------------------------------------------------------------
  std::string load_state() {
    std::string e = load_cpuid();
    if (!e.empty()) return e;
    kvm_sregs sregs = kvm::to_kvm_sregs(init_);
    if (!(e = vcpu_ioctl(KVM_SET_SREGS, &sregs, "KVM_SET_SREGS")).empty()) return e;
    kvm_regs regs = kvm::to_kvm_regs(init_);
    if (!(e = vcpu_ioctl(KVM_SET_REGS, &regs, "KVM_SET_REGS")).empty()) return e;
    kvm_fpu fpu = kvm::to_kvm_fpu(init_);
    if (!(e = vcpu_ioctl(KVM_SET_FPU, &fpu, "KVM_SET_FPU")).empty()) return e;
    return load_msrs();
  }

  std::string load_cpuid() {
    KvmList<kvm_cpuid_entry2> host(MAX_CPUID_ENTRIES);
    if (ioctl(vm_.kvm(), IOCTL_GET_SUPPORTED_CPUID, host.data()) < 0)
      return sys_error("KVM_GET_SUPPORTED_CPUID");
    std::vector<kvm_cpuid_entry2> supported;
    for (size_t i = 0; i < host.count(); ++i) supported.push_back(host.get(i));
    const std::vector<kvm_cpuid_entry2> guest = kvm::guest_cpuid(model_, supported);
    KvmList<kvm_cpuid_entry2> list(guest.size());
    for (size_t i = 0; i < guest.size(); ++i) list.put(i, guest[i]);
    return vcpu_ioctl(IOCTL_SET_CPUID2, list.data(), "KVM_SET_CPUID2");
  }

  KvmList<kvm_msr_entry> msr_list(const CpuState& s) {
    auto msrs = kvm::transferred_msrs();
    KvmList<kvm_msr_entry> list(msrs.size());
    for (size_t i = 0; i < msrs.size(); ++i) list.put(i, kvm_msr_entry{msrs[i].index, 0, s.*msrs[i].field});
    return list;
  }

  std::string load_msrs() {
    auto msrs = kvm::transferred_msrs();
    KvmList<kvm_msr_entry> list = msr_list(init_);
    const int n = ioctl(vm_.vcpu(), IOCTL_SET_MSRS, list.data());
    if (n < 0) return sys_error("KVM_SET_MSRS");
    if (size_t(n) < msrs.size())
      return std::string("KVM_SET_MSRS: KVM refused ") + msrs[size_t(n)].name + " = " +
             hex(init_.*msrs[size_t(n)].field);
    return "";
  }

  // Single-stepping (KVM_GUESTDBG_SINGLESTEP) plus a hardware execution
  // breakpoint (DR0, R/W = 00, len 1: SDM 17.2.4) on the fall-through
  // address of the instruction about to run. This host's KVM finishes some
  // instructions (LFENCE, MFENCE, SFENCE, RDRAND, RDSEED, SWAPGS) without
  // the single-step trap; the breakpoint then stops the vCPU before the
  // next instruction, so a step is still exactly one instruction.
  std::string arm_step(uint64_t breakpoint) {
    kvm_guest_debug dbg{};
    dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
    if (breakpoint) {
      dbg.control |= KVM_GUESTDBG_USE_HW_BP;
      dbg.arch.debugreg[0] = breakpoint;
      dbg.arch.debugreg[7] = DR7_L0 | DR7_FIXED1;
    }
    return vcpu_ioctl(KVM_SET_GUEST_DEBUG, &dbg, "KVM_SET_GUEST_DEBUG");
  }

  // ---- state out -----------------------------------------------------------
  std::string read_state(CpuState& s) {
    kvm_regs regs{};
    kvm_sregs sregs{};
    kvm_fpu fpu{};
    std::string e;
    if (!(e = vcpu_ioctl(KVM_GET_REGS, &regs, "KVM_GET_REGS")).empty()) return e;
    if (!(e = vcpu_ioctl(KVM_GET_SREGS, &sregs, "KVM_GET_SREGS")).empty()) return e;
    if (!(e = vcpu_ioctl(KVM_GET_FPU, &fpu, "KVM_GET_FPU")).empty()) return e;
    kvm::from_kvm_regs(regs, s);
    kvm::from_kvm_sregs(sregs, s);
    kvm::from_kvm_fpu(fpu, s);
    derive_mode(s);
    return read_msrs(s);
  }

  std::string read_msrs(CpuState& s) {
    auto msrs = kvm::transferred_msrs();
    KvmList<kvm_msr_entry> list = msr_list(s);
    const int n = ioctl(vm_.vcpu(), IOCTL_GET_MSRS, list.data());
    if (n < 0) return sys_error("KVM_GET_MSRS");
    if (size_t(n) < msrs.size()) return std::string("KVM_GET_MSRS failed at ") + msrs[size_t(n)].name;
    for (size_t i = 0; i < msrs.size(); ++i) s.*msrs[i].field = list.get(i).data;
    return "";
  }

  // The registers KVM copied into kvm_run at this exit (KVM_CAP_SYNC_REGS),
  // which saves two ioctls per single step.
  void sync_state(CpuState& s) {
    kvm::from_kvm_regs(run_->s.regs.regs, s);
    kvm::from_kvm_sregs(run_->s.regs.sregs, s);
    derive_mode(s);
  }

  // Mode, CPL and the default sizes follow from the registers exactly as in
  // the interpreter (Cpu::update_mode); CPL is SS.DPL in protected mode
  // (SDM 5.5: the stack segment's DPL always equals CPL).
  void derive_mode(CpuState& s) {
    CpuState& t = scratch_.s;
    t.cr0 = s.cr0;
    t.efer = s.efer;
    t.rflags = s.rflags;
    t.seg[CS] = s.seg[CS];
    t.seg[SS] = s.seg[SS];
    t.cpl = s.seg[SS].dpl();
    scratch_.update_mode();
    s.mode = t.mode;
    s.cpl = t.cpl;
    s.code_size = t.code_size;
    s.stack_size = t.stack_size;
  }

  // ---- the run loop ----------------------------------------------------------
  void loop() {
    bool step_starts = true;  // the next entry begins a new instruction
    while (out_.stop == StopReason::None) {
      if (stepping_ && init_.insn_count + counted_ >= opt_.max_insns) {
        stop(StopReason::Limit);
        break;
      }
      if (stepping_ && step_starts) {
        steps_.before_step(cur_);
        if (fail(arm_step(steps_.breakpoint()))) break;
      }
      run_->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
      if (ioctl(vm_.vcpu(), KVM_RUN, 0) < 0) {
        if (errno == EINTR && !watchdog_.fired()) continue;
        if (errno == EINTR)
          stop(StopReason::Error, "timeout: the guest ran for more than " +
                                      std::to_string(opt_.timeout_ms) + " ms" + site());
        else stop(StopReason::Error, sys_error("KVM_RUN") + site());
        break;
      }
      on_exit();
      step_starts = run_->exit_reason == KVM_EXIT_DEBUG || (stepping_ && io_finished_insn());
    }
  }

  void on_exit() {
    switch (run_->exit_reason) {
      case KVM_EXIT_HLT:
        // KVM leaves RIP after the HLT, as hardware does (SDM Vol. 2 HLT);
        // HLT retires and counts like in the interpreter.
        if (stepping_) ++counted_;
        stop(StopReason::Hlt);
        break;
      case KVM_EXIT_SHUTDOWN:
        stop(StopReason::Shutdown, "triple fault (KVM_EXIT_SHUTDOWN)");
        break;
      case KVM_EXIT_DEBUG:
        on_step();
        break;
      case KVM_EXIT_IO:
        on_io();
        break;
      case KVM_EXIT_MMIO:
        on_mmio();
        break;
      case KVM_EXIT_INTR:
      case KVM_EXIT_IRQ_WINDOW_OPEN:
        break;
      case KVM_EXIT_INTERNAL_ERROR:
        stop(StopReason::Error, internal_error_detail());
        break;
      case KVM_EXIT_FAIL_ENTRY:
        stop(StopReason::Error, "VM entry failed: hardware entry failure reason " +
                                    hex(run_->fail_entry.hardware_entry_failure_reason) + site());
        break;
      default:
        stop(StopReason::Error,
             "unexpected KVM exit reason " + std::to_string(run_->exit_reason) + site());
        break;
    }
  }

  // An I/O or MMIO exit comes in the middle of an instruction. Where KVM
  // has already moved RIP past it (this host does so for OUT and MMIO
  // writes), no single-step trap follows for it: it retired here and the
  // next entry starts a new step. Otherwise the trap comes after the next
  // entry completes it.
  bool io_finished_insn() {
    if (run_->exit_reason != KVM_EXIT_IO && run_->exit_reason != KVM_EXIT_MMIO) return false;
    sync_state(cur_);
    if (!steps_.finished_at(kvm::linear_rip(cur_))) return false;
    ++counted_;
    return true;
  }

  // A single-step trap: see kvm_step.h for what a step is.
  void on_step() {
    sync_state(cur_);
    switch (steps_.after_step(run_->debug.arch.pc, cur_)) {
      case kvm::StepKind::RepIteration:
        break;
      case kvm::StepKind::Retired:
        ++counted_;
        break;
      case kvm::StepKind::Halted:
        ++counted_;
        stop(StopReason::Hlt);
        break;
    }
  }

  // Port I/O: writes go to the RunOptions callback (the interpreter hands
  // every OUT to it too); reads of unclaimed ports return all ones.
  void on_io() {
    auto& io = run_->io;
    uint8_t* data = reinterpret_cast<uint8_t*>(run_) + io.data_offset;
    for (uint32_t i = 0; i < io.count; ++i) {
      uint8_t* item = data + size_t(i) * io.size;
      if (io.direction == KVM_EXIT_IO_OUT) {
        uint64_t v = 0;
        std::memcpy(&v, item, io.size);
        if (opt_.io_write) opt_.io_write(io.port, io.size, v);
      } else {
        std::memset(item, 0xff, io.size);
      }
    }
  }

  // Accesses outside RAM go to Memory's MMIO map; unclaimed addresses read
  // as all ones and drop writes (Memory::read_phys/write_phys).
  void on_mmio() {
    auto& m = run_->mmio;
    const unsigned len = m.len > 8 ? 8 : m.len;
    if (m.is_write) {
      uint64_t v = 0;
      std::memcpy(&v, m.data, len);
      mem_.write_phys(m.phys_addr, len, v);
    } else {
      const uint64_t v = mem_.read_phys(m.phys_addr, len);
      std::memcpy(m.data, &v, len);
    }
  }

  // ---- error details -----------------------------------------------------------
  std::string internal_error_detail() {
    const auto& in = run_->internal;
    std::string d = std::string("KVM internal error: ") + internal_error_name(in.suberror) +
                    " (suberror " + std::to_string(in.suberror) + ")";
    const auto& ef = run_->emulation_failure;
    if (in.suberror == KVM_INTERNAL_ERROR_EMULATION && ef.ndata >= 3 &&
        (ef.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES))
      return d + site(ef.insn_bytes, std::min<unsigned>(ef.insn_size, 15));
    return d + site();
  }

  // " at CS:RIP (linear L), bytes .. (mnemonic)" for error details; the
  // bytes come from `known` when KVM supplied them, else from guest memory.
  std::string site(const uint8_t* known = nullptr, unsigned known_len = 0) {
    CpuState s = out_.state;
    if (!read_state(s).empty()) return "";
    char b[96];
    const uint64_t lin = kvm::linear_rip(s);
    std::snprintf(b, sizeof b, " at %04x:%llx (linear %llx)", s.seg[CS].sel,
                  (unsigned long long)s.rip, (unsigned long long)lin);
    std::string d = b;
    uint8_t bytes[15];
    unsigned n = 0;
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    scratch_.s.mode = s.mode;
    const DecodeMode mode = decode_mode_of(scratch_);
    if (known) {
      // KVM's own copy of the bytes it failed on.
      n = known_len;
      std::memcpy(bytes, known, n);
    } else {
      n = view_.read(lin, bytes, sizeof bytes);
    }
    const bool ok = n > 0 && ZYAN_SUCCESS(decoder_.decode_raw(bytes, n, mode, insn, ops));
    if (ok) n = insn.length;
    if (n == 0) return d;
    d += ", bytes";
    for (unsigned i = 0; i < n; ++i) {
      std::snprintf(b, sizeof b, " %02x", bytes[i]);
      d += b;
    }
    if (ok) d += std::string(" (") + ZydisMnemonicGetString(insn.mnemonic) + ")";
    return d;
  }

  KvmVm& vm_;
  kvm_run* run_;
  Memory& mem_;
  const CpuState& init_;
  const CpuModel& model_;
  const RunOptions& opt_;
  const bool stepping_;
  kvm::GuestView view_;
  Decoder decoder_;
  kvm::StepCounter steps_;
  Cpu scratch_;      // derives mode/CPL from registers (Cpu::update_mode)
  Watchdog watchdog_;
  RunOutcome out_;
  CpuState cur_{};   // the state at the last exit (while single-stepping)
  uint64_t counted_ = 0;
};

}  // namespace

std::string kvm_unavailable_reason() {
  KvmVm vm;
  return vm.create();
}

RunOutcome run_kvm(Memory& mem, const CpuState& init, const CpuModel& model,
                   const RunOptions& opt) {
  KvmVm vm;
  std::string err = vm.create();
  if (err.empty()) err = vm.map_ram(mem);
  if (!err.empty()) {
    RunOutcome o;
    o.stop = StopReason::Error;
    o.detail = "KVM unavailable: " + err;
    return o;
  }
  return KvmRun(vm, mem, init, model, opt).run();
}

}  // namespace softvt
