// softvt demo: runs the built-in guest (tests/guest/demo.asm, assembled at
// build time and embedded) and prints what it did. The guest starts in real
// mode, switches to protected and then long mode with its own GDT, page
// tables and IDT, computes primes and Fibonacci numbers, takes a #DE and a
// #BP through its IDT, reads the CPUID vendor and halts; it narrates all of
// it on the debug console (port 0xe9), which this command copies to stdout.
#include <cstdio>

#include "emu/accel/accel.h"
#include "emu/cli/commands.h"
#include "emu/cli/options.h"
#include "emu/loader/flat.h"
#include "demo_image.h"

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

}  // namespace

int demo_command(int argc, char** argv) {
  // The demo takes no options: anything after it is a mistake worth naming.
  if (argc > 2) throw UsageError("unknown option '" + std::string(argv[2]) + "' (demo takes none)");
  std::vector<uint8_t> image(kDemoImage, kDemoImage + kDemoImageSize);
  Memory mem(64 << 20);
  CpuState init = setup_flat(mem, image, FLAT_DEFAULT_LOAD, FlatMode::Real16);
  RunOptions opt;
  opt.max_insns = 10'000'000;
  unsigned long long console_bytes = 0;
  int last_byte = '\n';
  opt.io_write = [&console_bytes, &last_byte](uint16_t port, unsigned, uint64_t v) {
    if (port != 0xe9) return;
    last_byte = int(v & 0xff);
    std::fputc(last_byte, stdout);
    ++console_bytes;
  };
  std::printf("softvt demo: running the built-in guest (%zu bytes) from real mode at 0x%llx\n",
              image.size(), (unsigned long long)FLAT_DEFAULT_LOAD);
  std::printf("--- guest output (debug console, port 0xe9) ---\n");
  std::fflush(stdout);
  RunOutcome out = run_interp(mem, init, default_cpu_model(), opt);
  if (console_bytes == 0) std::printf("(nothing)\n");
  else if (last_byte != '\n') std::printf("\n");
  std::printf("--- end of guest output ---\n");
  std::printf("summary: %llu instructions executed, stopped by %s%s%s\n",
              (unsigned long long)out.state.insn_count, stop_reason_name(out.stop),
              out.detail.empty() ? "" : ": ", out.detail.c_str());
  std::printf("         final mode: %s (CR0=0x%llx, EFER=0x%llx), RIP=0x%llx\n",
              mode_description(out.state.mode), (unsigned long long)out.state.cr0,
              (unsigned long long)out.state.efer, (unsigned long long)out.state.rip);
  const bool ok = out.stop == StopReason::Hlt && out.state.mode == Mode::Long64;
  if (!ok)
    std::printf("the demo did not reach its final HLT in long mode: the instructions it needs "
                "(OUT, MOV CR, LGDT/LIDT, far JMP, WRMSR, IRETQ, ...) may not all be implemented\n");
  return ok ? 0 : 1;
}

}  // namespace softvt
