// KVM device, VM, vCPU and watchdog (see kvm_vm.h).
#include "emu/accel/kvm_vm.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace softvt::kvm {
namespace {

// KVM_GET_API_VERSION must return 12 (api.rst 4.1: "applications should
// refuse to run if KVM_GET_API_VERSION returns a value other than 12").
constexpr int STABLE_API_VERSION = 12;
// The real-mode TSS KVM needs on hosts without unrestricted guest (api.rst
// KVM_SET_TSS_ADDR: three pages, not overlapping guest memory), placed just
// below 4 GiB like other VMMs do.
constexpr uint64_t TSS_ADDR = 0xfffbd000;

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

thread_local kvm_run* tls_kick_run __attribute__((tls_model("initial-exec"))) = nullptr;
thread_local volatile sig_atomic_t tls_timed_out __attribute__((tls_model("initial-exec"))) = 0;

void on_timeout_signal(int) {
  tls_timed_out = 1;
  if (tls_kick_run) tls_kick_run->immediate_exit = 1;
}

int timeout_signal() { return SIGRTMIN; }

}  // namespace

std::string sys_error(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string vcpu_ioctl(const Vm& vm, unsigned vcpu, unsigned long request, void* arg, const char* name) {
  return ioctl(vm.vcpu_fd(vcpu), request, arg) < 0 ? sys_error(name) : "";
}

std::string set_guest_debug(const Vm& vm, unsigned vcpu, bool single_step, uint64_t breakpoint) {
  // DR7: L0 (bit 0) enables breakpoint 0; bit 10 reads as 1.
  constexpr uint64_t DR7_L0 = 1, DR7_FIXED1 = 1u << 10;
  kvm_guest_debug dbg{};
  if (single_step) dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
  if (breakpoint) {
    dbg.control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
    dbg.arch.debugreg[0] = breakpoint;
    dbg.arch.debugreg[7] = DR7_L0 | DR7_FIXED1;
  }
  return vcpu_ioctl(vm, vcpu, KVM_SET_GUEST_DEBUG, &dbg, "KVM_SET_GUEST_DEBUG");
}

void serve_mmio(kvm_run& run, Memory& mem) {
  auto& m = run.mmio;
  const unsigned len = m.len > 8 ? 8 : m.len;
  if (m.is_write) {
    uint64_t v = 0;
    std::memcpy(&v, m.data, len);
    mem.write_phys(m.phys_addr, len, v);
  } else {
    const uint64_t v = mem.read_phys(m.phys_addr, len);
    std::memcpy(m.data, &v, len);
  }
}

void serve_io(kvm_run& run, const std::function<void(uint16_t, unsigned, uint64_t)>& out,
              const std::function<uint64_t(uint16_t, unsigned)>& in) {
  auto& io = run.io;
  uint8_t* data = reinterpret_cast<uint8_t*>(&run) + io.data_offset;
  for (uint32_t k = 0; k < io.count; ++k) {
    uint8_t* item = data + size_t(k) * io.size;
    if (io.direction == KVM_EXIT_IO_OUT) {
      uint64_t v = 0;
      std::memcpy(&v, item, io.size);
      out(io.port, io.size, v);
    } else {
      const uint64_t v = in(io.port, io.size);
      std::memcpy(item, &v, io.size);
    }
  }
}

const char* internal_error_name(uint32_t suberror) {
  switch (suberror) {
    case KVM_INTERNAL_ERROR_EMULATION: return "instruction emulation failed";
    case KVM_INTERNAL_ERROR_SIMUL_EX: return "simultaneous exceptions";
    case KVM_INTERNAL_ERROR_DELIVERY_EV: return "VM exit during event delivery";
    case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "unexpected VM-exit reason";
    default: return "unknown internal error";
  }
}

std::string device_path() {
  const char* env = std::getenv("SOFTVT_KVM_DEVICE");
  return env && *env ? env : "/dev/kvm";
}

Fd& Fd::operator=(Fd&& o) noexcept {
  std::swap(fd_, o.fd_);
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) close(fd_);
}

Vm::~Vm() {
  for (Vcpu& v : vcpus_)
    if (v.run) munmap(v.run, run_size_);
}

std::string Vm::create(unsigned vcpus) {
  const std::string dev = device_path();
  kvm_ = Fd(open(dev.c_str(), O_RDWR | O_CLOEXEC));
  if (!kvm_.ok()) return sys_error(dev);
  const int version = ioctl(kvm_.get(), KVM_GET_API_VERSION, 0);
  if (version != STABLE_API_VERSION)
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
  const int xsave2 = ioctl(vm_.get(), KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
  if (xsave2 > int(XSAVE_REGION)) xsave_size_ = size_t(xsave2);
  const int size = ioctl(kvm_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (size < int(sizeof(kvm_run))) return sys_error("KVM_GET_VCPU_MMAP_SIZE");
  run_size_ = size_t(size);
  const int max = ioctl(kvm_.get(), KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
  if (max > 0 && vcpus > unsigned(max))
    return dev + ": this KVM runs at most " + std::to_string(max) + " vCPUs per VM, not " + std::to_string(vcpus);
  vcpus_.reserve(vcpus);
  for (unsigned i = 0; i < vcpus; ++i) {
    const std::string e = create_vcpu(i);
    if (!e.empty()) return e;
  }
  return "";
}

std::string Vm::create_vcpu(unsigned id) {
  Vcpu v;
  v.fd = Fd(ioctl(vm_.get(), KVM_CREATE_VCPU, id));
  if (!v.fd.ok()) return sys_error("KVM_CREATE_VCPU " + std::to_string(id));
  void* p = mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, v.fd.get(), 0);
  if (p == MAP_FAILED) return sys_error("mmap of the vCPU's kvm_run area");
  v.run = static_cast<kvm_run*>(p);
  vcpus_.push_back(std::move(v));
  return "";
}

std::string Vm::map_ram(Memory& mem) {
  if (mem.ram_size() > TSS_ADDR) return "guest RAM above " + hex(TSS_ADDR) + " is not supported";
  kvm_userspace_memory_region r{};
  r.slot = 0;
  r.guest_phys_addr = 0;
  r.memory_size = mem.ram_size();
  r.userspace_addr = reinterpret_cast<uint64_t>(mem.ram());
  if (ioctl(vm_.get(), KVM_SET_USER_MEMORY_REGION, &r) < 0)
    return sys_error("KVM_SET_USER_MEMORY_REGION");
  return "";
}

Watchdog::~Watchdog() {
  if (created_) timer_delete(timer_);
  tls_kick_run = nullptr;
  if (mask_saved_) pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

// The handler stays installed afterwards: a signal still in flight when
// the run ends must not meet the default action (terminate). The timer is
// made once, on the first arming, and re-armed after that: a PC run arms
// one per slice, and making and deleting a timer each time cost more
// system calls than the KVM_RUN of a short slice.
std::string Watchdog::create_timer() {
  struct sigaction sa {};
  sa.sa_handler = on_timeout_signal;
  sigemptyset(&sa.sa_mask);
  if (sigaction(timeout_signal(), &sa, nullptr) < 0) return sys_error("sigaction");
  // The caller's thread may block the signal; KVM_RUN must see it.
  sigset_t unblock;
  sigemptyset(&unblock);
  sigaddset(&unblock, timeout_signal());
  if (pthread_sigmask(SIG_UNBLOCK, &unblock, &old_mask_) != 0) return "pthread_sigmask failed";
  mask_saved_ = true;
  sigevent ev{};
  ev.sigev_notify = SIGEV_THREAD_ID;
  ev.sigev_signo = timeout_signal();
  ev._sigev_un._tid = gettid();  // glibc's name for sigev_notify_thread_id
  if (timer_create(CLOCK_MONOTONIC, &ev, &timer_) < 0) return sys_error("timer_create");
  created_ = true;
  return "";
}

std::string Watchdog::arm_ns(kvm_run* run, uint64_t ns) {
  if (!created_) {
    const std::string e = create_timer();
    if (!e.empty()) return e;
  }
  tls_timed_out = 0;
  tls_kick_run = run;
  itimerspec t{};
  t.it_value.tv_sec = time_t(ns / 1000000000);
  t.it_value.tv_nsec = long(ns % 1000000000);
  if (ns == 0) t.it_value.tv_nsec = 1;  // 0 would disarm the timer
  if (timer_settime(timer_, 0, &t, nullptr) < 0) return sys_error("timer_settime");
  return "";
}

// A signal the timer raised is delivered by the time timer_settime returns
// (it is directed at this thread and not blocked), so after disarm() no
// kick from this arming can reach a later run.
void Watchdog::disarm() {
  if (!created_) return;
  const itimerspec zero{};
  timer_settime(timer_, 0, &zero, nullptr);
  tls_kick_run = nullptr;
}

bool Watchdog::fired() const { return tls_timed_out != 0; }

}  // namespace softvt::kvm
