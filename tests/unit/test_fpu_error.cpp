// x87 errors reported the PC way (CR0.NE = 0; SDM Vol. 1 8.7.2, Appendix
// D.2; Vol. 3A 2.5 CR0.NE): a waiting x87 or MMX instruction that finds an
// unmasked exception pending asserts FERR# and freezes before executing
// until an interrupt is taken, unless IGNNE# is asserted; the PC's latch
// turns FERR# into IRQ 13 and a write to port F0H into IGNNE#
// (emu/devices/fpu_error.h).
#include <catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "emu/devices/fpu_error.h"
#include "emu/devices/lapic.h"
#include "emu/machine/io_bus.h"
#include "emu/machine/irq.h"
#include "emu/machine/pc.h"
#include "tests/unit/test_flat_machine.h"

using namespace softvt;
using test::FlatMachine;

namespace {

constexpr uint16_t IRQ13_HANDLER = 0x10, MF_HANDLER = 0x30, WAITING = 0x80;
constexpr uint8_t IRQ13_VECTOR = 0x75;  // the PC BIOS's slave-PIC vector for IRQ 13

// Real mode (the flat runner's CR0.NE = 0). The program divides 1 by 0 with
// #Z unmasked, optionally sets IF (with STI just before), then runs
// `waiting` at WAITING and marks DS:0x804 after it. The IRQ 13 handler
// counts its entries (DS:0x800), records the IP it interrupted (DS:0x802),
// clears the exception and returns; the #MF handler records 16 at DS:0x806
// and its IP at DS:0x808.
std::string program(const std::string& waiting, bool sti) {
  return std::string("bits 16\norg 0\n jmp start\n") +
         " times 0x10-($-$$) nop\n"
         " inc word [0x800]\n mov bp, sp\n mov ax, [bp]\n mov [0x802], ax\n fnclex\n iret\n"
         " times 0x30-($-$$) nop\n"
         " mov word [0x806], 16\n mov bp, sp\n mov ax, [bp]\n mov [0x808], ax\n hlt\n"
         " times 0x40-($-$$) nop\n"
         "start:\n mov ax, cs\n mov ds, ax\n mov ss, ax\n mov sp, 0xf000\n"
         " fninit\n fldcw [cw]\n fld1\n fldz\n fdivp st1, st0\n" +
         // STI right before the waiting instruction: its one-instruction
         // shadow must not keep IRQ 13 out of the freeze.
         (sti ? " times 0x7f-($-$$) nop\n sti\n" : " times 0x80-($-$$) nop\n") +
         " " + waiting + "\n mov word [0x804], 1\n hlt\n"
         "cw: dw 0x037b\n";  // all masked except #Z
}

// The chipset side for a lone CPU: FERR# raises INTR with the IRQ 13
// vector (dropped at the acknowledge, like an edge-triggered PIC input).
struct FerrToIntr : Cpu::InterruptSource {
  Cpu* cpu = nullptr;
  std::vector<bool> ferr_changes;
  unsigned acks = 0;
  uint8_t intr_acknowledge() override {
    ++acks;
    cpu->intr_line = false;
    return IRQ13_VECTOR;
  }
  void attach(Cpu& c) {
    cpu = &c;
    c.intr_source = this;
    c.on_ferr = [this](bool asserted) {
      ferr_changes.push_back(asserted);
      if (asserted) cpu->intr_line = true;
    };
  }
};

struct FerrMachine {
  FlatMachine m;
  FerrToIntr chipset;
  FerrMachine(const std::string& waiting, bool sti) : m(FlatMode::Real16, program(waiting, sti)) {
    m.real_vector(IRQ13_VECTOR, IRQ13_HANDLER);
    m.real_vector(vec::MF, MF_HANDLER);
    chipset.attach(m.cpu);
  }
  uint16_t at(uint16_t off) const { return m.u16(FlatMachine::LOAD + off); }
};

}  // namespace

TEST_CASE("CR0.NE = 0: FWAIT with a pending error asserts FERR#, freezes, and runs again after IRQ 13",
          "[fpu_error]") {
  FerrMachine f("fwait", true);
  REQUIRE(f.m.cpu.run(1000) == StopReason::Hlt);
  CHECK(f.chipset.acks == 1);
  CHECK(f.at(0x800) == 1);        // the handler ran once
  CHECK(f.at(0x802) == WAITING);  // interrupting the frozen FWAIT, not what follows
  CHECK(f.at(0x804) == 1);        // FWAIT then completed
  CHECK(f.at(0x806) == 0);        // no #MF
  // FERR# went active at the FWAIT and inactive once FNCLEX had cleared it.
  CHECK(f.chipset.ferr_changes == std::vector<bool>{true, false});
  CHECK_FALSE(f.m.cpu.ferr);
}

TEST_CASE("CR0.NE = 0: with interrupts disabled the frozen CPU waits at the instruction", "[fpu_error]") {
  FerrMachine f("fwait", false);
  REQUIRE(f.m.cpu.run(1000) == StopReason::Hlt);
  CHECK(f.m.cpu.s.halted);
  CHECK(f.m.cpu.s.rip == WAITING);  // RIP still on the FWAIT
  CHECK(f.at(0x804) == 0);
  CHECK(f.m.cpu.ferr);
  CHECK(f.chipset.acks == 0);
  // Still frozen when run again: nothing can be taken.
  CHECK(f.m.cpu.run(1000) == StopReason::Hlt);
  CHECK(f.m.cpu.s.rip == WAITING);
}

TEST_CASE("CR0.NE = 0: an MMX instruction freezes like a waiting x87 instruction", "[fpu_error]") {
  FerrMachine f("movq mm0, mm1", true);
  REQUIRE(f.m.cpu.run(1000) == StopReason::Hlt);
  CHECK(f.at(0x800) == 1);
  CHECK(f.at(0x802) == WAITING);
  CHECK(f.at(0x804) == 1);
}

TEST_CASE("CR0.NE = 0: with IGNNE# asserted the error is ignored and the instruction executes", "[fpu_error]") {
  FerrMachine f("fld1", false);
  f.m.cpu.ignne = true;
  REQUIRE(f.m.cpu.run(1000) == StopReason::Hlt);
  CHECK(f.at(0x804) == 1);
  CHECK(f.chipset.ferr_changes.empty());
  CHECK(f.at(0x800) == 0);
}

TEST_CASE("CR0.NE = 1: the same error is #MF at the waiting instruction, FERR# untouched", "[fpu_error]") {
  FerrMachine f("fwait", true);
  f.m.cpu.s.cr0 |= cr0::NE;
  REQUIRE(f.m.cpu.run(1000) == StopReason::Hlt);
  CHECK(f.at(0x806) == 16);
  CHECK(f.at(0x808) == WAITING);
  CHECK(f.chipset.ferr_changes.empty());
}

TEST_CASE("the PC latch: FERR# -> IRQ 13 until port F0H, which asserts IGNNE# while FERR# lasts",
          "[fpu_error]") {
  std::vector<bool> irq, ignne;
  FpuErrorLatch l({[&](bool v) { irq.push_back(v); }, [&](bool v) { ignne.push_back(v); }});
  l.set_ferr(true);
  CHECK(l.irq13());
  CHECK_FALSE(l.ignne());
  l.clear_error_latch();  // OUT F0H
  CHECK_FALSE(l.irq13());
  CHECK(l.ignne());
  l.set_ferr(false);      // FNCLEX cleared the error
  CHECK_FALSE(l.ignne());
  l.clear_error_latch();  // no error: IGNNE# stays off
  CHECK_FALSE(l.ignne());
  l.set_ferr(true);       // a new error: a new IRQ 13 edge
  CHECK(l.irq13());
  l.set_ferr(false);      // cleared without OUT F0H: IRQ 13 stays latched
  CHECK(l.irq13());
  CHECK(irq == std::vector<bool>{true, false, true});
  CHECK(ignne == std::vector<bool>{true, false});
}

TEST_CASE("the PC wires the BSP's FERR# to ISA IRQ 13 and port F0H to its IGNNE#", "[fpu_error]") {
  PcConfig c;
  c.ram_bytes = 16ull << 20;
  Pc pc(c, default_cpu_model());
  Cpu& bsp = pc.cpu();
  REQUIRE(bsp.on_ferr);
  bsp.on_ferr(true);
  CHECK(pc.irq().level(FpuErrorLatch::IRQ));
  pc.io().write(FpuErrorLatch::PORT, 1, 0);
  CHECK_FALSE(pc.irq().level(FpuErrorLatch::IRQ));
  CHECK(bsp.ignne);
  bsp.on_ferr(false);
  CHECK_FALSE(bsp.ignne);
}

namespace {

// A multiboot kernel (a.out kludge, loaded at 1 MiB) entered as the PC
// enters one: protected mode with CR0 = PE|ET, so CR0.NE = 0. It programs
// the 8259As (IRQ 8-15 at vectors 28H-2FH, only IRQ 13 and the cascade
// unmasked), makes a #Z pending with interrupts on, and executes FWAIT.
// The IRQ 13 handler counts itself, checks that it interrupted the FWAIT,
// writes port F0H, runs `clear` (FNCLEX or nothing) and sends the EOIs.
// The kernel exits through isa-debug-exit with count | (interrupted the
// FWAIT) << 4 | (FWAIT completed) << 5.
std::string pc_kernel_source(const std::string& clear) {
  return "bits 32\norg 0x100000\n"
         "header:\n dd 0x1BADB002\n dd 0x00010003\n dd -(0x1BADB002 + 0x00010003)\n"
         " dd header\n dd 0x100000\n dd 0\n dd 0\n dd start\n"
         "start:\n mov esp, 0x90000\n"
         " mov eax, irq13\n mov [idt + 8 * 0x2d], ax\n mov word [idt + 8 * 0x2d + 2], 0x08\n"
         " mov word [idt + 8 * 0x2d + 4], 0x8e00\n shr eax, 16\n mov [idt + 8 * 0x2d + 6], ax\n"
         " lidt [idtr]\n"
         " mov al, 0x11\n out 0x20, al\n out 0xa0, al\n"
         " mov al, 0x20\n out 0x21, al\n mov al, 0x28\n out 0xa1, al\n"
         " mov al, 4\n out 0x21, al\n mov al, 2\n out 0xa1, al\n"
         " mov al, 1\n out 0x21, al\n out 0xa1, al\n"
         " mov al, 0xfb\n out 0x21, al\n mov al, 0xdf\n out 0xa1, al\n"
         " fninit\n fldcw [cw]\n fld1\n fldz\n fdivp st1, st0\n sti\n"
         "waiting:\n fwait\n"
         " or byte [result], 0x20\n cli\n mov al, [result]\n out 0xf4, al\n hlt\n"
         "irq13:\n inc byte [result]\n cmp dword [esp], waiting\n jne .other\n"
         " or byte [result], 0x10\n"
         ".other:\n out 0xf0, al\n " + clear + "\n"
         " mov al, 0x20\n out 0xa0, al\n out 0x20, al\n iret\n"
         "cw: dw 0x037b\n"
         "result: db 0\n"
         "align 8\nidtr: dw 256 * 8 - 1\n dd idt\n"
         "align 8\nidt: times 256 dq 0\n";
}

int run_pc_kernel(const std::string& clear) {
  const char* exe = std::getenv("SOFTVT");
  REQUIRE(exe);
  const std::vector<uint8_t> image = test::assemble_nasm(pc_kernel_source(clear));
  const std::string path = "/tmp/softvt_fpu_error_" + std::to_string(getpid()) + ".bin";
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(image.data()), image.size());
  const int raw = std::system((std::string(exe) + " run --kernel " + path + " >/dev/null 2>&1").c_str());
  std::remove(path.c_str());
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

int debug_exit_status(unsigned v) { return int(((v << 1) | 1) & 0xff); }

}  // namespace

TEST_CASE("PC: FWAIT freezes, IRQ 13 through the 8259A interrupts it, FNCLEX lets it complete", "[fpu_error]") {
  CHECK(run_pc_kernel("fnclex") == debug_exit_status(1 | 0x10 | 0x20));
}

TEST_CASE("PC: after OUT F0H the handler may leave the error pending: IGNNE# lets FWAIT complete",
          "[fpu_error]") {
  CHECK(run_pc_kernel("") == debug_exit_status(1 | 0x10 | 0x20));
}
