#include <cstdio>
#include <cstring>
#include <exception>

#include "emu/cli/commands.h"
#include "emu/cli/options.h"

namespace {

void usage(FILE* f) {
  std::fputs(
      "usage: softvt COMMAND [OPTIONS]\n"
      "\n"
      "commands:\n"
      "  run --flat FILE [--load ADDR] [--mode long64|prot32|real16]\n"
      "      [--accel interp|kvm] [-m MiB] [--max-insns N]\n"
      "      [--dump-state FILE|-] [--dump-mem ADDR:LEN] [--trace FILE]\n"
      "      [--debugcon stdio|stderr|FILE] [--cpu MODEL[,+FEAT,-FEAT,...]]\n"
      "                       run a flat binary (see README for the contract)\n"
      "  run --kernel FILE [--initrd FILE[,FILE...]] [--append CMDLINE] [-m SIZE]\n"
      "      [--smp N] [--cpu MODEL[,+feat,-feat]] [--serial stdio|file:PATH|none] [--clock insns|host]\n"
      "      [--accel interp|kvm] [--max-insns N] [--trace FILE]\n"
      "                       run a Linux bzImage, multiboot or ELF64 kernel on a PC (README)\n"
      "  demo                 run the built-in demonstration guest\n"
      "  fuzz --a interp --b kvm|kvm-user|native [--seed S] [--count N]\n"
      "       [--mode long64|prot32|real16|all] [--insns K] [--avoid MNEMONIC,...]\n"
      "       [--max-reports N] [--verbose]\n"
      "                       differential fuzzing between two backends\n"
      "  fuzz --suite system --b kvm [--family paging|fastcall|all] [--seed S] [--count N]\n"
      "                       random paging/protection and fast-system-call scenarios vs KVM\n"
      "  run ... --record FILE [--record-regs] [--record-mem]\n"
      "                       record the run (flat or --kernel) as a binary trace (traces/README.md)\n"
      "  trace show FILE [--from N] [--to N] [--cpu C] [--events-only] [--format text|json]\n"
      "  trace stats FILE [--svg FILE]\n"
      "  trace diff A B       disassembly, statistics, first divergence of traces\n"
      "  replay FILE [--gdb tcp:HOST:PORT [--wait-gdb]]\n"
      "                       re-run a recorded run and check it retraces the recording\n"
      "                       (under gdb: step it forwards and backwards)\n"
      "  help                 this text\n",
      f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char* cmd = argv[1];
  try {
    if (!std::strcmp(cmd, "run")) return softvt::run_command(argc, argv);
    if (!std::strcmp(cmd, "demo")) return softvt::demo_command(argc, argv);
    if (!std::strcmp(cmd, "fuzz")) return softvt::fuzz_command(argc, argv);
    if (!std::strcmp(cmd, "trace")) return softvt::trace_command(argc, argv);
    if (!std::strcmp(cmd, "replay")) return softvt::replay_command(argc, argv);
    if (!std::strcmp(cmd, "help") || !std::strcmp(cmd, "--help") || !std::strcmp(cmd, "-h")) {
      usage(stdout);
      return 0;
    }
    std::fprintf(stderr, "softvt: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
  } catch (const softvt::UsageError& e) {
    std::fprintf(stderr, "softvt %s: %s\n", cmd, e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "softvt %s: error: %s\n", cmd, e.what());
    return 1;
  }
}
