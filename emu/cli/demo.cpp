// softvt demo [--cpu MODEL]: runs the built-in guests (assembled at build
// time and embedded) and prints what they did.
// Part 1 (tests/guest/demo.asm) starts in real mode, switches to protected
// and then long mode with its own GDT, page tables and IDT, computes primes
// and Fibonacci numbers, takes a #DE and a #BP through its IDT, reads the
// CPUID vendor and halts.
// Part 2 on the intel model (tests/guest/demo_vmx.asm) is an L1 hypervisor:
// it enters VMX operation, launches an L2 that takes several kinds of VM
// exit, then shows a VMfail and a failed VM entry; softvt names each exit
// and the check that failed, and sums them up. On the amd model part 2
// (tests/guest/demo_svm.asm) does the same with SVM: VMRUN, intercepts,
// #VMEXITs, and one VMRUN that fails its consistency checks.
// The guests narrate on the debug console (port 0xe9), copied to stdout.
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "emu/accel/accel.h"
#include "emu/cli/commands.h"
#include "emu/cli/cpu_option.h"
#include "emu/cli/options.h"
#include "emu/loader/flat.h"
#include "svm/vmcb.h"
#include "svm/vmrun_checks.h"
#include "vmx/entry_checks.h"
#include "vmx/exit_reasons.h"
#include "vmx/vmx_operation.h"
#include "demo_image.h"
#include "demo_svm_image.h"
#include "demo_vmx_image.h"

namespace softvt {
namespace {

const char* mode_description(Mode m) {
  switch (m) {
    case Mode::Real: return "real mode";
    case Mode::V86: return "virtual-8086 mode";
    case Mode::Prot16: return "16-bit protected mode";
    case Mode::Prot32: return "32-bit protected mode";
    case Mode::Compat16: return "16-bit compatibility mode";
    case Mode::Compat32: return "32-bit compatibility mode";
    case Mode::Long64: return "64-bit long mode";
  }
  return "unknown mode";
}

// Copies the guest's debug-console bytes to stdout, remembering whether a
// line is open so softvt's own lines start on a fresh one.
struct Console {
  unsigned long long bytes = 0;
  int last = '\n';
  void put(uint64_t v) {
    last = int(v & 0xff);
    std::fputc(last, stdout);
    ++bytes;
  }
  void end_line() {
    if (last != '\n') std::fputc('\n', stdout);
    last = '\n';
  }
};

// Shows softvt's own notes on VM entries, exits and failed checks between
// the guest's lines, and counts the tracer's VM events for the summary.
class VmNotes : public Cpu::Tracer {
 public:
  explicit VmNotes(Console& console) : console_(console) {}
  void insn(const Cpu&, uint64_t, uint64_t, const uint8_t*, unsigned) override {}
  void exception(const Cpu&, const GuestException&) override {}
  void note(const Cpu&, const std::string& text) override {
    console_.end_line();
    std::printf("    softvt: %s\n", text.c_str());
  }
  void vm_entry(const Cpu&, VmEntryKind) override { ++entries_; }
  void vm_exit(const Cpu&, VmArch arch, uint64_t reason, uint64_t) override {
    ++exits_total_;
    ++exits_[arch == VmArch::Vmx ? vmx_exit_name(reason) : svm_exit_name(reason)];
  }
  void vm_entry_failed(const Cpu&, const char* check) override { failed_.push_back(with_section(check)); }
  void print_summary() const {
    std::printf("summary: %u VM entries, %u VM exits", entries_, exits_total_);
    const char* sep = " (";
    for (const auto& [name, n] : exits_) {
      std::printf("%s%u x %s", sep, n, name.c_str());
      sep = ", ";
    }
    std::printf("%s, %u failed VM entries\n", exits_.empty() ? "" : ")", unsigned(failed_.size()));
    for (const std::string& f : failed_) std::printf("         failed check: %s\n", f.c_str());
  }

 private:
  // A check's name with its manual section (vmx/entry_checks.cpp's and
  // svm/vmrun_checks.cpp's tables).
  static std::string with_section(const char* check) {
    for (const vmx::EntryCheck& k : vmx::entry_checks())
      if (std::string_view(k.name) == check) return std::string(check) + " [SDM " + k.section + "]";
    if (const svm::VmrunCheck* k = svm::find_vmrun_check(check))
      return std::string(check) + " [" + k->section + "]";
    return check;
  }
  static std::string svm_exit_name(uint64_t code) {
    const char* name = svm::exit_code_name(code);
    return std::string(name ? name : "unknown exit code") + " (" + std::to_string(int64_t(code)) + ")";
  }
  static std::string vmx_exit_name(uint64_t reason) {
    return std::string(vmx::exit_reason_name(uint32_t(reason) & 0xffff)) + " (" +
           std::to_string(reason & 0xffff) + ")";
  }
  Console& console_;
  unsigned entries_ = 0, exits_total_ = 0;
  std::map<std::string, unsigned> exits_;
  std::vector<std::string> failed_;
};

RunOutcome run_guest(const uint8_t* bytes, size_t size, FlatMode mode, const CpuModel& model,
                     Console& console, Cpu::Tracer* tracer) {
  std::vector<uint8_t> image(bytes, bytes + size);
  Memory mem(64 << 20);
  CpuState init = setup_flat(mem, image, FLAT_DEFAULT_LOAD, mode);
  init.feature_control = vmx::firmware_feature_control(model);  // as firmware leaves it
  RunOptions opt;
  opt.max_insns = 10'000'000;
  opt.tracer = tracer;
  opt.io_write = [&console](uint16_t port, unsigned, uint64_t v) {
    if (port == 0xe9) console.put(v);
  };
  std::printf("--- guest output (debug console, port 0xe9) ---\n");
  std::fflush(stdout);
  RunOutcome out = run_interp(mem, init, model, opt);
  if (console.bytes == 0) std::printf("(nothing)\n");
  console.end_line();
  std::printf("--- end of guest output ---\n");
  return out;
}

void print_stop(const RunOutcome& out) {
  std::printf("         %llu instructions executed, stopped by %s%s%s\n",
              (unsigned long long)out.state.insn_count, stop_reason_name(out.stop),
              out.detail.empty() ? "" : ": ", out.detail.c_str());
}

bool mode_switch_part(const CpuModel& model) {
  std::printf("softvt demo, part 1: the built-in guest (%zu bytes) from real mode at 0x%llx\n",
              size_t(kDemoImageSize), (unsigned long long)FLAT_DEFAULT_LOAD);
  Console console;
  RunOutcome out = run_guest(kDemoImage, kDemoImageSize, FlatMode::Real16, model, console, nullptr);
  std::printf("summary:\n");
  print_stop(out);
  std::printf("         final mode: %s (CR0=0x%llx, EFER=0x%llx), RIP=0x%llx\n",
              mode_description(out.state.mode), (unsigned long long)out.state.cr0,
              (unsigned long long)out.state.efer, (unsigned long long)out.state.rip);
  const bool ok = out.stop == StopReason::Hlt && out.state.mode == Mode::Long64;
  if (!ok)
    std::printf("the demo did not reach its final HLT in long mode: the instructions it needs "
                "(OUT, MOV CR, LGDT/LIDT, far JMP, WRMSR, IRETQ, ...) may not all be implemented\n");
  return ok;
}

// Part 2: a built-in L1 hypervisor (`what` names its virtualization).
bool hypervisor_part(const char* what, const uint8_t* image, size_t size, const CpuModel& model) {
  std::printf("\nsoftvt demo, part 2: an L1 hypervisor on %s in software (%zu bytes, 64-bit mode)\n", what, size);
  Console console;
  VmNotes notes(console);
  RunOutcome out = run_guest(image, size, FlatMode::Long64, model, console, &notes);
  notes.print_summary();
  print_stop(out);
  const bool ok = out.stop == StopReason::Hlt;
  if (!ok) std::printf("the L1 did not reach its final HLT\n");
  return ok;
}

bool has_vmx(const CpuModel& m) { return (m.cpuid(1, 0).ecx >> 5) & 1; }  // CPUID.1:ECX.VMX


bool has_svm(const CpuModel& m) { return (m.cpuid(0x80000001, 0).ecx >> 2) & 1; }  // CPUID 80000001H:ECX.SVM
}  // namespace

int demo_command(int argc, char** argv) {
  CpuModel model = default_cpu_model();
  ArgReader a(argc, argv, 2);
  while (!a.done()) {
    const std::string o = a.next();
    if (o == "--cpu") model = parse_cpu_option(a.value(o));
    else throw UsageError("unknown option '" + o + "' for demo (expected --cpu MODEL)");
  }
  bool ok = mode_switch_part(model);
  if (model.intel() && has_vmx(model)) ok = hypervisor_part("VMX", kDemoVmxImage, kDemoVmxImageSize, model) && ok;
  if (model.amd() && has_svm(model)) ok = hypervisor_part("SVM", kDemoSvmImage, kDemoSvmImageSize, model) && ok;
  return ok ? 0 : 1;
}

}  // namespace softvt
