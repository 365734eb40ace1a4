// softvt demo: runs the built-in guest (tests/guest/demo.asm, assembled at
// build time and embedded) and prints what it did.
#include <cstdio>

#include "emu/accel/accel.h"
#include "emu/cli/commands.h"
#include "emu/loader/flat.h"
#include "demo_image.h"

namespace softvt {

int demo_command(int, char**) {
  std::vector<uint8_t> image(kDemoImage, kDemoImage + kDemoImageSize);
  Memory mem(64 << 20);
  CpuState init = setup_flat(mem, image, 0x10000, FlatMode::Real16);
  RunOptions opt;
  opt.max_insns = 10'000'000;
  std::printf("softvt demo: running the built-in guest (%zu bytes) in real mode at 0x10000\n",
              image.size());
  std::printf("--- guest output (debug console, port 0xe9) ---\n");
  opt.io_write = [](uint16_t port, unsigned, uint64_t v) {
    if (port == 0xe9) std::fputc(int(v & 0xff), stdout);
  };
  RunOutcome out = run_interp(mem, init, default_cpu_model(), opt);
  std::printf("--- end of guest output ---\n");
  std::printf("stopped by %s after %llu instructions%s%s\n", stop_reason_name(out.stop),
              (unsigned long long)out.state.insn_count, out.detail.empty() ? "" : ": ",
              out.detail.c_str());
  std::printf("final mode: %s, rip=0x%llx rax=0x%llx rbx=0x%llx\n",
              out.state.mode == Mode::Long64 ? "64-bit" : out.state.mode == Mode::Real ? "real" : "protected",
              (unsigned long long)out.state.rip, (unsigned long long)out.state.gpr[RAX],
              (unsigned long long)out.state.gpr[RBX]);
  return out.stop == StopReason::Hlt ? 0 : 1;
}

}  // namespace softvt
