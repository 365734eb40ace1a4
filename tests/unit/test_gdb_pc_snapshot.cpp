// Snapshots of the PC machine, as reverse execution under gdb uses them
// (traces/gdb_pc_target.cpp): a program that keeps the PIT (through the
// 8259A pair), the local APIC timer and a UART busy runs to a position,
// the machine is saved (CPUs and RAM through SnapshotStore, the rest
// through Pc::save_state), runs on, is restored and runs to the same later
// position again: every CPU register, every device's state and RAM must
// be what the first run left, and interrupts must have happened in
// between (so a timer, an IRR bit or a counter restored wrong shows).
// Then the same under the real gdb: a PC kernel that reads the PIT while
// it counts runs past three snapshots; stepping back from its end and
// forward again gives the registers (the PIT's count in AL included) seen
// forwards.
#include <catch.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "emu/cpu_model.h"
#include "emu/loader/multiboot.h"
#include "emu/machine/pc.h"
#include "emu/snapshot.h"
#include "tests/unit/gdb_cli_support.h"
#include "tests/unit/nasm_support.h"

using namespace softvt;
using namespace softvt::test;

namespace {

constexpr uint32_t ENTRY = 0x100000;

// 32-bit protected mode at ENTRY (QEMU's multiboot state): an IDT with
// gates for the PIT's IRQ 0 (vector 20H through the PIC) and the APIC
// timer (40H),
// the PIT at divisor 100 (83.8 us), the APIC timer periodic every 7000 ns,
// and a loop writing the UART's scratch register.
const char* const kProgram = R"(
bits 32
org 0x100000
%define GATE(h) dw ((h) - $$ + 0x100000) & 0xffff, 0x08, 0x8e00, ((h) - $$ + 0x100000) >> 16
start:
    lidt [idtr]
    mov esi, port_writes
    mov ecx, (port_writes_end - port_writes) / 2
.out:
    movzx edx, byte [esi]
    mov al, [esi + 1]
    out dx, al
    add esi, 2
    loop .out
    mov dword [0xfee000f0], 0x1ff
    mov dword [0xfee003e0], 0xb
    mov dword [0xfee00320], 0x20040
    mov dword [0xfee00380], 7000
    sti
.loop:
    inc ebx
    mov al, bl
    mov dx, 0x3ff
    out dx, al
    jmp .loop
pit_isr:
    inc dword [pit_ticks]
    push eax
    mov al, 0x20
    out 0x20, al
    pop eax
    iret
apic_isr:
    inc dword [apic_ticks]
    mov dword [0xfee000b0], 0
    iret
align 8
idt:
    times 0x20 dq 0
    GATE(pit_isr)
    times 0x1f dq 0
    GATE(apic_isr)
idt_end:
idtr: dw idt_end - idt - 1
      dd idt
; (port, value): the 8259As' ICW1-4 (vectors 20H/28H, cascade on IR2),
; only IRQ 0 unmasked; PIT counter 0 in mode 2 with divisor 100.
port_writes:
    db 0x20, 0x11, 0xa0, 0x11, 0x21, 0x20, 0xa1, 0x28, 0x21, 4, 0xa1, 2, 0x21, 1, 0xa1, 1
    db 0x21, 0xfe, 0xa1, 0xff, 0x43, 0x34, 0x40, 100, 0x40, 0
port_writes_end:
align 4
pit_ticks: dd 0
apic_ticks: dd 0
)";

struct Fingerprint {
  std::vector<uint64_t> regs;
  std::vector<uint8_t> devices, ram;
};

Fingerprint fingerprint(Pc& pc) {
  Fingerprint f;
  for (unsigned i = 0; i < pc.cpu_count(); ++i) {
    const CpuState& s = pc.cpu(i).s;
    f.regs.insert(f.regs.end(), s.gpr, s.gpr + 16);
    f.regs.push_back(s.rip);
    f.regs.push_back(s.rflags);
    f.regs.push_back(s.insn_count);
    f.regs.push_back(pc.cpu(i).steps_taken());
  }
  f.devices = pc.save_state();
  f.ram.assign(pc.mem().ram(), pc.mem().ram() + pc.mem().ram_size());
  return f;
}

void run_to(Pc& pc, uint64_t position) {
  pc.set_max_insns(position);
  for (int tries = 0; pc.total_insns() < position && tries < 1000; ++tries) REQUIRE(pc.run().reason == "limit");
  REQUIRE(pc.total_insns() == position);
}

uint32_t counter(Pc& pc, const std::vector<uint8_t>& image, size_t from_end) {
  uint32_t v = 0;
  std::memcpy(&v, pc.mem().ram() + ENTRY + image.size() - from_end, 4);
  return v;
}

}  // namespace

TEST_CASE("PC snapshots: restoring one and running on retraces the run exactly", "[gdb][snapshot]") {
  const std::vector<uint8_t> image = test::assemble_nasm(kProgram);
  for (unsigned cpus : {1u, 2u}) {
    INFO("CPUs: " << cpus);
    PcConfig cfg;
    cfg.ram_bytes = 8ull << 20;
    cfg.cpus = cpus;
    Pc pc(cfg, default_cpu_model());
    std::memcpy(pc.mem().ram() + ENTRY, image.data(), image.size());
    pc.cpu(0).s = multiboot_entry_state(pc.mem(), ENTRY);
    pc.cpu(0).update_mode();

    run_to(pc, 250000);
    // pit_ticks and apic_ticks are the image's last 8 bytes.
    const uint32_t pit_before = counter(pc, image, 8), apic_before = counter(pc, image, 4);
    SnapshotStore store;
    std::vector<CpuSnapshot> cpu_snaps;
    for (unsigned i = 0; i < pc.cpu_count(); ++i) cpu_snaps.push_back(CpuSnapshot::take(pc.cpu(i)));
    store.reset(pc.mem(), pc.total_insns(), cpu_snaps, pc.save_state());

    run_to(pc, 600000);
    const Fingerprint first = fingerprint(pc);
    CHECK(counter(pc, image, 8) > pit_before);
    CHECK(counter(pc, image, 4) > apic_before);
    CHECK(pit_before > 0);

    const Snapshot& snap = store.first();
    store.restore_ram(snap, pc.mem());
    for (unsigned i = 0; i < pc.cpu_count(); ++i) snap.cpus[i].restore(pc.cpu(i));
    pc.restore_state(snap.devices);
    CHECK(pc.total_insns() == 250000);
    CHECK(counter(pc, image, 8) == pit_before);
    run_to(pc, 600000);
    const Fingerprint again = fingerprint(pc);
    CHECK(again.regs == first.regs);
    CHECK(again.devices == first.devices);
    CHECK(again.ram == first.ram);
  }
}

TEST_CASE("PC snapshots: device state of another shape is refused", "[gdb][snapshot]") {
  PcConfig cfg;
  cfg.ram_bytes = 4ull << 20;
  Pc pc(cfg, default_cpu_model());
  std::vector<uint8_t> bytes = pc.save_state();
  bytes.push_back(0);
  CHECK_THROWS_WITH(pc.restore_state(bytes), "snapshot: device state longer than its fields");
  bytes.resize(bytes.size() / 2);
  CHECK_THROWS_WITH(pc.restore_state(bytes), "snapshot: device state shorter than its fields");
}

namespace {

// A multiboot kernel: from EBX = 0, 800000 iterations of a loop that counts in EBX,
// stores the count at 200000H and reads the PIT's counter 0 into AL, then
// CLI; HLT (the machine stays, halted, for reverse execution).
std::string build_loop_kernel() {
  const std::string base = "/tmp/softvt_gdb_loop_" + std::to_string(getpid());
  std::ofstream(base + ".asm") << "%include \"common.inc\"\n"
                                  "MULTIBOOT_HEADER\n"
                                  "section .text\n"
                                  "global _start\n"
                                  "_start:\n"
                                  "  xor ebx, ebx\n"
                                  "  mov ecx, 800000\n"
                                  "l: inc ebx\n"
                                  "  mov [0x200000], ebx\n"
                                  "  in al, 0x40\n"
                                  "  dec ecx\n"
                                  "  jnz l\n"
                                  "  cli\n"
                                  "  hlt\n";
  const test::CliResult r =
      test::shell("nasm -f elf32 -I " + test::kSourceDir + "/tests/kernels/ -o " + base + ".o " + base + ".asm && ld -m elf_i386 --no-warn-rwx-segments -T " +
                  test::kSourceDir + "/tests/kernels/kernel.ld -o " + base + ".elf " + base + ".o");
  std::remove((base + ".asm").c_str());
  std::remove((base + ".o").c_str());
  INFO(r.out + r.err);
  REQUIRE(r.status == 0);
  return base + ".elf";
}

}  // namespace

TEST_CASE("gdb: the PC steps back from the end of a run past several snapshots", "[gdb][cli]") {
  REQUIRE_GDB();
  const std::string elf = build_loop_kernel();
  test::Softvt s({"run", "--kernel", elf, "-m", "64", "--serial", "none"});
  const std::string o = s.gdb({"continue", "p/x $pc", "p $rax", "p $rbx",            // 0, 1, 2: at the end
                               "reverse-stepi", "reverse-stepi", "reverse-stepi",
                               "reverse-stepi", "reverse-stepi", "p $rax", "p $rcx",  // 3, 4: in the last iteration
                               "stepi", "stepi", "stepi", "stepi", "stepi",
                               "p/x $pc", "p $rax", "p $rbx",                         // 5, 6, 7: the end again
                               "watch *(int*)0x200000", "reverse-continue", "p $rbx",  // 8: before the last store
                               "x/wx 0x200000", "kill"});
  std::remove(elf.c_str());
  INFO(o);
  const std::vector<std::string> v = printed(o);
  REQUIRE(v.size() == 9);
  CHECK(v[2] == "800000");
  CHECK(v[4] == "1");  // five back from after HLT: before the last dec ecx
  CHECK(v[5] == v[0]);
  CHECK(v[6] == v[1]);  // AL: the PIT's count, read again at the same time
  CHECK(v[7] == "800000");
  CHECK(v[8] == "800000");  // incremented, not stored yet
  CHECK(test::contains(o, "0x200000:\t0x000c34ff"));  // 799999
}
