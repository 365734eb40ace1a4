// The KVM objects the backend (emu/accel/kvm.cpp) drives: the device, one
// VM with guest RAM in slot 0, one vCPU with its kvm_run area, the
// {count, entries[]} lists some ioctls take, and the watchdog that kicks
// the vCPU out of KVM_RUN at the wall-clock limit. API reference: the
// Linux kernel's Documentation/virt/kvm/api.rst.
#pragma once
#include <linux/kvm.h>
#include <signal.h>
#include <time.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "emu/memory.h"

namespace softvt::kvm {

// "what: strerror(errno)".
std::string sys_error(const std::string& what);

class Vm;

// An ioctl on vCPU `vcpu`: "" or "name: strerror(errno)".
std::string vcpu_ioctl(const Vm& vm, unsigned vcpu, unsigned long request, void* arg, const char* name);

// KVM_SET_GUEST_DEBUG: single-stepping when `single_step`, plus a hardware
// execution breakpoint in DR0 on the linear `breakpoint` unless it is 0
// (DR7 L0, R/W0 = 00, LEN0 = 00: SDM 17.2.4); with neither, guest
// debugging is off.
std::string set_guest_debug(const Vm& vm, unsigned vcpu, bool single_step, uint64_t breakpoint);

// A KVM_EXIT_MMIO (an access outside RAM) served by Memory's MMIO map;
// unclaimed addresses read as all ones and drop writes
// (Memory::read_phys/write_phys).
void serve_mmio(kvm_run& run, Memory& mem);

// A KVM_EXIT_IO: `count` items (string I/O) of `size` bytes, each written
// with `out` or read with `in` (whose value is stored back for the guest).
void serve_io(kvm_run& run, const std::function<void(uint16_t port, unsigned size, uint64_t value)>& out,
              const std::function<uint64_t(uint16_t port, unsigned size)>& in);

// The name of a KVM_EXIT_INTERNAL_ERROR suberror (api.rst).
const char* internal_error_name(uint32_t suberror);

// The KVM device: /dev/kvm unless SOFTVT_KVM_DEVICE names another path
// (tests use it to see the backend's behaviour where KVM is missing).
std::string device_path();

// linux/kvm.h declares kvm_cpuid2's and kvm_msrs's entry arrays with
// __DECLARE_FLEX_ARRAY, which in C++ adds a byte of empty struct: sizeof and
// the entries' offset then differ from the kernel's C layout (and so do
// the ioctl numbers, which encode the size). These follow the C layout:
// an 8-byte header {count, padding}, entries right after it.
constexpr size_t LIST_HEADER = 8;
constexpr unsigned long IOCTL_GET_SUPPORTED_CPUID = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x05, LIST_HEADER);
constexpr unsigned long IOCTL_SET_CPUID2 = _IOC(_IOC_WRITE, KVMIO, 0x90, LIST_HEADER);
constexpr unsigned long IOCTL_GET_MSRS = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x88, LIST_HEADER);
constexpr unsigned long IOCTL_SET_MSRS = _IOC(_IOC_WRITE, KVMIO, 0x89, LIST_HEADER);
// struct kvm_xsave has the same problem (a flexible `extra` array after its
// 4096-byte region).
constexpr size_t XSAVE_REGION = 4096;
constexpr unsigned long IOCTL_GET_XSAVE = _IOC(_IOC_READ, KVMIO, 0xa4, XSAVE_REGION);
constexpr unsigned long IOCTL_SET_XSAVE = _IOC(_IOC_WRITE, KVMIO, 0xa5, XSAVE_REGION);
constexpr unsigned long IOCTL_GET_XSAVE2 = _IOC(_IOC_READ, KVMIO, 0xcf, XSAVE_REGION);

// A {count, padding, entries[]} list in the kernel's C layout.
template <typename Entry>
class List {
 public:
  explicit List(size_t n) : bytes_(LIST_HEADER + n * sizeof(Entry), 0) {
    const uint32_t v = uint32_t(n);
    std::memcpy(bytes_.data(), &v, 4);
  }
  void* data() { return bytes_.data(); }
  uint32_t count() const {
    uint32_t n;
    std::memcpy(&n, bytes_.data(), 4);
    return n;
  }
  Entry get(size_t i) const {
    Entry e;
    std::memcpy(&e, bytes_.data() + LIST_HEADER + i * sizeof(Entry), sizeof e);
    return e;
  }
  void put(size_t i, const Entry& e) {
    std::memcpy(bytes_.data() + LIST_HEADER + i * sizeof(Entry), &e, sizeof e);
  }

 private:
  std::vector<uint8_t> bytes_;
};

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(const Fd&) = delete;
  Fd& operator=(Fd&& o) noexcept;
  ~Fd();
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// The device with one VM, its vCPUs (one by default; the PC machine
// creates one per CPU, vCPU id = APIC ID) and each vCPU's shared kvm_run
// area.
class Vm {
 public:
  Vm() = default;
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;
  ~Vm();

  // Opens the device, checks the API version and the capabilities the
  // backend relies on, creates the VM and `vcpus` vCPUs. "" or the problem.
  std::string create(unsigned vcpus = 1);
  // Guest RAM is slot 0 at guest-physical 0, backed by Memory's own
  // mapping, so the guest's stores are visible to the caller afterwards.
  std::string map_ram(Memory& mem);

  // Bytes of a KVM_GET/SET_XSAVE image: 4096, or more where
  // KVM_CAP_XSAVE2 says the guest's state needs more (then read it with
  // KVM_GET_XSAVE2).
  size_t xsave_size() const { return xsave_size_; }
  int system_fd() const { return kvm_.get(); }
  int vm_fd() const { return vm_.get(); }
  unsigned vcpu_count() const { return unsigned(vcpus_.size()); }
  int vcpu_fd(unsigned i = 0) const { return vcpus_[i].fd.get(); }
  kvm_run* run(unsigned i = 0) const { return vcpus_[i].run; }

 private:
  struct Vcpu {
    Fd fd;
    kvm_run* run = nullptr;
  };
  std::string create_vcpu(unsigned id);

  Fd kvm_, vm_;
  std::vector<Vcpu> vcpus_;
  size_t run_size_ = 0;
  size_t xsave_size_ = XSAVE_REGION;
};

// Wall-clock limit of one run: a one-shot POSIX timer signals the calling
// thread; the handler sets kvm_run.immediate_exit, so KVM_RUN returns EINTR
// whether the signal lands inside KVM_RUN or just before it enters
// (api.rst, "immediate_exit"). The signal is SIGRTMIN; its handler stays
// installed after the run.
class Watchdog {
 public:
  Watchdog() = default;
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog();
  std::string arm(kvm_run* run, uint64_t ms) { return arm_ns(run, ms * 1000000); }
  std::string arm_ns(kvm_run* run, uint64_t ns);
  // Stops the timer of the last arming; a later arm_ns re-arms it.
  void disarm();
  bool fired() const;

 private:
  std::string create_timer();
  timer_t timer_{};
  bool created_ = false;
  sigset_t old_mask_{};
  bool mask_saved_ = false;
};

}  // namespace softvt::kvm
