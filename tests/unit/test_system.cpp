// Segment loads, event delivery, control transfers and system instructions
// (emu/segments.cpp, emu/interrupts.cpp, emu/interp/control.cpp,
// emu/interp/system.cpp), checked against the SDM.
//
// The snippets are assembled with nasm at test time. They run on a small
// stepping loop that decodes each instruction with softvt's decoder and
// delivers exceptions like the run loop; for MOV with a segment, control or
// debug register operand it uses mov_sreg_handler / mov_crdr_handler
// directly, as data_move's MOV selector does once it dispatches them.
#include <catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "decoder/decoder.h"
#include "emu/block_cache.h"
#include "emu/cpu.h"
#include "emu/interp/system_forms.h"
#include "emu/loader/flat.h"
#include "emu/paging.h"
#include "tests/unit/nasm_support.h"

using namespace softvt;

namespace {

std::vector<uint8_t> assemble(const std::string& src) { return test::assemble_nasm(src); }

// Descriptor builders (SDM Figures 3-8, 5-8, 6-2, 6-8, 7-4).
uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags) {
  return (uint64_t(limit) & 0xffff) | (uint64_t(base & 0xffffff) << 16) | (uint64_t(access) << 40) |
         (uint64_t((limit >> 16) & 0xf) << 48) | (uint64_t(flags & 0xf) << 52) |
         (uint64_t(base >> 24) << 56);
}
uint64_t gate_lo(uint16_t sel, uint64_t off, uint8_t type, uint8_t dpl, uint8_t ist_or_params = 0,
                 bool present = true) {
  return (off & 0xffff) | (uint64_t(sel) << 16) | (uint64_t(ist_or_params) << 32) |
         (uint64_t(type | (dpl << 5) | (present ? 0x80 : 0)) << 40) |
         (uint64_t((off >> 16) & 0xffff) << 48);
}

constexpr uint64_t CODE = 0x10000, GDT = 0x20000, IDT = 0x21000, TSS = 0x22000;
constexpr uint64_t STACK0 = 0x30000, STACK3 = 0x40000, IST1 = 0x50000, REC = 0x60000;
constexpr uint64_t STUB0 = CODE + 0x20;  // stub v at STUB0 + 32 * v
constexpr unsigned NSTUBS = 48;

// Recording stubs: vector number at REC, RSP at REC + 8, then HLT.
std::string stubs(int bits) {
  std::string s = "bits " + std::to_string(bits) + "\norg 0x10000\n jmp start\n align 32\n";
  s += "%assign v 0\n%rep 48\n mov dword [0x60000], v\n";
  s += bits == 64 ? " mov [0x60008], rsp\n" : bits == 32 ? " mov [0x60008], esp\n" : " mov [0x8], sp\n";
  s += " hlt\n align 32\n%assign v v+1\n%endrep\nstart:\n";
  return s;
}

struct Machine {
  Memory mem{64 << 20};
  Cpu cpu{mem, default_cpu_model()};
  Decoder dec{default_cpu_model()};

  explicit Machine(FlatMode mode) { cpu.s = setup_flat(mem, {0xf4}, CODE, mode); cpu.update_mode(); }

  void put(uint64_t addr, const std::vector<uint8_t>& b) { std::memcpy(mem.ram() + addr, b.data(), b.size()); }
  void put64(uint64_t addr, uint64_t v) { std::memcpy(mem.ram() + addr, &v, 8); }
  void put32(uint64_t addr, uint32_t v) { std::memcpy(mem.ram() + addr, &v, 4); }
  void put16(uint64_t addr, uint16_t v) { std::memcpy(mem.ram() + addr, &v, 2); }
  uint64_t get64(uint64_t addr) const { uint64_t v; std::memcpy(&v, mem.ram() + addr, 8); return v; }
  uint32_t get32(uint64_t addr) const { uint32_t v; std::memcpy(&v, mem.ram() + addr, 4); return v; }
  uint16_t get16(uint64_t addr) const { uint16_t v; std::memcpy(&v, mem.ram() + addr, 2); return v; }
  uint8_t get8(uint64_t addr) const { return mem.ram()[addr]; }
  void load(const std::string& src) { put(CODE, assemble(src)); }

  // The standard long-mode layout: GDT, 64-bit IDT of recording stubs, a
  // 64-bit TSS with RSP0 and IST1.
  void long_mode_tables() {
    const uint64_t g[] = {0,
                          seg_desc(0, 0xfffff, 0x9b, 0xa),   // 0x08 64-bit code DPL0
                          seg_desc(0, 0xfffff, 0x93, 0xc),   // 0x10 data DPL0
                          seg_desc(0, 0xfffff, 0x9b, 0xc),   // 0x18 32-bit code DPL0
                          seg_desc(0, 0xfffff, 0xfb, 0xa),   // 0x20 64-bit code DPL3
                          seg_desc(0, 0xfffff, 0xf3, 0xc),   // 0x28 data DPL3
                          seg_desc(uint32_t(TSS), 0x67, 0x89, 0),  // 0x30 TSS (16 bytes)
                          0,
                          seg_desc(0, 0xfffff, 0x13, 0xc),   // 0x40 data, not present
                          0, 0,                              // 0x48 call gate (16 bytes)
                          seg_desc(0, 0xfffff, 0x9f, 0xa),   // 0x58 conforming 64-bit code DPL0
                          };
    for (size_t i = 0; i < std::size(g); ++i) put64(GDT + 8 * i, g[i]);
    cpu.s.gdtr = DescTable{GDT, 0x7f, 0};
    for (unsigned v = 0; v < NSTUBS; ++v) set_gate64(v, STUB0 + 32 * v, 0, 0);
    cpu.s.idtr = DescTable{IDT, 16 * NSTUBS - 1, 0};
    put64(TSS + 4, STACK0);   // RSP0
    put64(TSS + 0x24, IST1);  // IST1
  }
  void set_gate64(unsigned v, uint64_t off, uint8_t dpl, uint8_t ist, bool present = true,
                  uint8_t type = 0xe) {
    put64(IDT + 16 * v, gate_lo(0x08, off, type, dpl, ist, present));
    put64(IDT + 16 * v + 8, off >> 32);
  }

  bool is_special_mov(const Insn& in) const {
    if (in.mnemonic != ZYDIS_MNEMONIC_MOV) return false;
    for (unsigned i = 0; i < 2; ++i)
      if (in.op[i].kind == OpKind::Reg && in.op[i].reg >= reg::SEG0 && in.op[i].reg < reg::XMM0)
        return true;
    return false;
  }

  StopReason run(unsigned max_steps = 1000) {
    for (unsigned n = 0; n < max_steps; ++n) {
      if (cpu.s.halted) return StopReason::Hlt;
      if (cpu.stop != StopReason::None) return cpu.stop;
      try {
        step();
      } catch (const GuestException& e) {
        if (std::getenv("SOFTVT_TEST_TRACE"))
          std::fprintf(stderr, "  exception %u error %#x at %#llx\n", e.vector, e.error_code,
                       (unsigned long long)cpu.s.rip);
        if (e.vector == vec::PF) cpu.s.cr2 = e.cr2;
        cpu.deliver_event(e.vector, EventType::HardwareException, e.error_code, cpu.s.rip);
      }
      cpu.end_block = false;
    }
    return StopReason::Limit;
  }

  void step() {
    const bool b64 = cpu.s.mode == Mode::Long64;
    const uint64_t lin = b64 ? cpu.s.rip : ((cpu.s.seg[CS].base + cpu.s.rip) & 0xffffffffull);
    const uint64_t phys = cpu.translate(lin, Acc::Exec, cpu.s.cpl == 3).phys | (lin & 0xfff);
    uint8_t bytes[16];
    std::memcpy(bytes, mem.ram() + phys, 15);
    Insn in;
    const DecodeStatus st = dec.decode(bytes, 15, decode_mode_of(cpu), in);
    if (st != DecodeStatus::Ok) cpu.raise_ud();
    if (std::getenv("SOFTVT_TEST_TRACE"))
      std::fprintf(stderr, "%#llx: %s cpl %u\n", (unsigned long long)cpu.s.rip,
                   ZydisMnemonicGetString(ZydisMnemonic(in.mnemonic)), cpu.s.cpl);
    if (is_special_mov(in)) {
      Handler h = mov_sreg_handler(in);
      if (!h) h = mov_crdr_handler(in);
      in.handler = h ? h : handler_ud;
    }
    const uint64_t ip_mask = cpu.s.code_size == 8 ? ~0ull : cpu.s.code_size == 4 ? 0xffffffffull : 0xffffull;
    cpu.next_rip = (cpu.s.rip + in.len) & ip_mask;
    in.handler(cpu, in);
    cpu.s.rip = cpu.next_rip;
    ++cpu.s.insn_count;
  }

  uint32_t recorded_vector() const { return get32(REC); }
  uint64_t recorded_rsp() const { return get64(REC + 8); }
};

}  // namespace

// ---------------------------------------------------------------------------
// Long mode: IDT delivery, error codes, stack frames
// ---------------------------------------------------------------------------

TEST_CASE("long mode: #UD pushes a 64-bit frame with RF set and no error code") {
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.load(stubs(64) + " mov rsp, 0x3ff08\n mov rax, 0x246\n ud2\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.recorded_vector() == vec::UD);
  const uint64_t rsp = m.recorded_rsp();
  // 16-byte aligned RSP (0x3ff00), then SS, RSP, RFLAGS, CS, RIP (SDM 6.14.2).
  CHECK(rsp == 0x3ff00 - 40);
  const uint64_t ud2_at = m.get64(rsp);  // return RIP = the faulting UD2
  CHECK(m.get8(ud2_at) == 0x0f);
  CHECK(m.get8(ud2_at + 1) == 0x0b);
  CHECK(m.get64(rsp + 8) == 0x08);
  CHECK(m.get64(rsp + 16) == (0x2 | fl::RF));  // fault: RF = 1 in the image
  CHECK(m.get64(rsp + 24) == 0x3ff08);
  CHECK(m.get64(rsp + 32) == 0x10);
  CHECK(!(m.cpu.s.rflags & fl::IF));
}

TEST_CASE("long mode: segment loads fault with the selector as error code") {
  struct Case { const char* code; uint8_t vector; uint32_t error; };
  const Case cases[] = {
      {"mov ax, 0x43\n mov ds, ax\n", vec::GP, 0x40},   // RPL 3 > DPL 0
      {"mov ax, 0x40\n mov ds, ax\n", vec::NP, 0x40},   // not present
      {"mov ax, 0x40\n mov ss, ax\n", vec::SS, 0x40},   // not present stack: #SS
      {"mov ax, 0x18\n mov ss, ax\n", vec::GP, 0x18},   // code segment into SS
      {"mov ax, 0x28\n mov ds, ax\n mov ax, 0x28\n mov ss, ax\n", vec::GP, 0x28},  // DPL 3 != CPL
      {"mov ax, 0x80\n mov es, ax\n", vec::GP, 0x80},   // outside the GDT limit
      {"mov ax, 0x0c\n mov fs, ax\n", vec::GP, 0x0c},   // LDT reference (TI in the error code), LDTR unusable
      {"mov ax, 0x30\n mov gs, ax\n", vec::GP, 0x30},   // system descriptor
      {"mov ax, 3\n mov ss, ax\n", vec::GP, 0},         // null SS with RPL != CPL
  };
  for (const Case& c : cases) {
    Machine m(FlatMode::Long64);
    m.long_mode_tables();
    m.cpu.s.ldtr = SegReg{0, 0, ar::UNUSABLE, 0, 0, 0};
    m.load(stubs(64) + " mov rsp, 0x3ff00\n" + c.code);
    INFO(c.code);
    REQUIRE(m.run() == StopReason::Hlt);
    CHECK(m.recorded_vector() == c.vector);
    CHECK(m.get64(m.recorded_rsp()) == c.error);
  }
}

TEST_CASE("long mode: null SS at CPL 0 and null data segments load as unusable") {
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.load(stubs(64) + " mov ax, 0\n mov ss, ax\n mov ax, 3\n mov ds, ax\n mov ax, 0x28\n mov es, ax\n hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.cpu.s.seg[SS].sel == 0);
  CHECK((m.cpu.s.seg[SS].attr & ar::UNUSABLE));
  CHECK(m.cpu.s.seg[DS].sel == 3);
  CHECK((m.cpu.s.seg[DS].attr & ar::UNUSABLE));
  CHECK(m.cpu.s.seg[ES].sel == 0x28);
  CHECK(m.cpu.s.seg[ES].dpl() == 3);
  // The accessed bit was set in the descriptor (SDM 3.4.5).
  CHECK((m.get8(GDT + 0x28 + 5) & 1) == 1);
  CHECK(m.cpu.s.interrupt_shadow == shadow::MOV_SS);
}

TEST_CASE("long mode: page faults report CR2 and P/W/U/RSVD/I-D error bits") {
  struct Case { const char* code; uint64_t cr2; uint32_t error; int setup; };
  const Case cases[] = {
      {"mov byte [rbx], 1\n", 0x100000000ull, pf::W, 0},                 // not present, write
      {"mov al, [rbx]\n", 0x100000000ull, 0, 0},                         // not present, read
      {"jmp rcx\n", 0x200000, pf::P | pf::ID, 1},                        // NX page fetch
      {"mov al, [rdx]\n", 0x400000, pf::P | pf::RSVD, 2},                // reserved bit 51
  };
  for (const Case& c : cases) {
    Machine m(FlatMode::Long64);
    m.long_mode_tables();
    if (c.setup == 1) m.put64(0x3000 + 8 * 1, m.get64(0x3000 + 8) | (1ull << 63));
    if (c.setup == 2) m.put64(0x3000 + 8 * 2, m.get64(0x3000 + 16) | (1ull << 51));
    m.load(stubs(64) + " mov rsp, 0x3ff00\n mov rbx, 0x100000000\n mov rcx, 0x200000\n mov rdx, 0x400000\n" + c.code);
    INFO(c.code);
    REQUIRE(m.run() == StopReason::Hlt);
    CHECK(m.recorded_vector() == vec::PF);
    CHECK(m.cpu.s.cr2 == c.cr2);
    CHECK(m.get64(m.recorded_rsp()) == c.error);
  }
}

// Enters ring 3 with IRETQ from a hand-built frame at 0x38000.
const char* kToRing3 =
    " mov ax, 0x30\n ltr ax\n"
    " mov rsp, 0x38000\n"
    " mov qword [rsp], ring3\n mov qword [rsp+8], 0x23\n mov qword [rsp+16], 0x202\n"
    " mov qword [rsp+24], 0x3fff0\n mov qword [rsp+32], 0x2b\n"
    " iretq\n"
    "ring3:\n";

TEST_CASE("long mode: IRETQ to ring 3, INT n through a DPL-3 gate switches to RSP0") {
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.set_gate64(0x28, STUB0 + 32 * 0x28, 3, 0);
  m.load(stubs(64) + kToRing3 + " int 0x28\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.recorded_vector() == 0x28);
  const uint64_t rsp = m.recorded_rsp();
  CHECK(rsp == STACK0 - 40);
  CHECK(m.get64(rsp + 8) == 0x23);           // old CS
  CHECK(m.get64(rsp + 16) == 0x202);         // RFLAGS (software interrupt: RF = 0)
  CHECK(m.get64(rsp + 24) == 0x3fff0);       // old RSP
  CHECK(m.get64(rsp + 32) == 0x2b);          // old SS
  CHECK(m.cpu.s.cpl == 0);
  CHECK(m.cpu.s.seg[SS].sel == 0);           // null SS with RPL = new CPL
  CHECK((m.cpu.s.seg[SS].attr & ar::UNUSABLE));
  CHECK(!(m.cpu.s.rflags & fl::IF));         // interrupt gate
  // LTR marked the TSS busy (type 0xb) in the GDT and in TR.
  CHECK((m.get8(GDT + 0x30 + 5) & 0xf) == 0xb);
  CHECK((m.cpu.s.tr.attr & 0xf) == 0xb);
}

TEST_CASE("long mode: INT n through a DPL-0 gate from ring 3 is #GP(vector*8+2)") {
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.load(stubs(64) + kToRing3 + " int 0x29\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.recorded_vector() == vec::GP);
  const uint64_t rsp = m.recorded_rsp();
  CHECK(m.get64(rsp) == 0x29 * 8 + 2);
  CHECK(m.get64(rsp + 16) == 0x23);  // from ring 3
  CHECK(rsp == STACK0 - 48);
}

TEST_CASE("long mode: HLT, MOV CR and RDMSR at CPL 3 are #GP(0)") {
  for (const char* insn : {"hlt\n", "mov rax, cr0\n", "rdmsr\n", "cli\n", "lgdt [0x20000]\n",
                           "wbinvd\n", "invlpg [0]\n", "mov rax, dr7\n", "swapgs\n"}) {
    Machine m(FlatMode::Long64);
    m.long_mode_tables();
    m.load(stubs(64) + kToRing3 + insn);
    INFO(insn);
    REQUIRE(m.run() == StopReason::Hlt);
    CHECK(m.recorded_vector() == vec::GP);
    CHECK(m.get64(m.recorded_rsp()) == 0);
    CHECK(m.get64(m.recorded_rsp() + 16) == 0x23);
  }
}

TEST_CASE("long mode: an IST gate always switches to its stack") {
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.set_gate64(0x2a, STUB0 + 32 * 0x2a, 0, 1);
  m.load(stubs(64) + " mov ax, 0x30\n ltr ax\n mov rsp, 0x3ff08\n int 0x2a\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.recorded_vector() == 0x2a);
  CHECK(m.recorded_rsp() == IST1 - 40);
  CHECK(m.get64(IST1 - 40 + 24) == 0x3ff08);
  CHECK(m.get64(IST1 - 40 + 32) == 0x10);  // SS unchanged, still pushed
}

TEST_CASE("long mode: a fault delivering #GP becomes #DF; a fault delivering #DF shuts down") {
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.set_gate64(vec::GP, STUB0 + 32 * vec::GP, 0, 0, false);  // #GP gate not present
  m.load(stubs(64) + " mov rsp, 0x3ff00\n mov ax, 0x43\n mov ds, ax\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.recorded_vector() == vec::DF);
  CHECK(m.get64(m.recorded_rsp()) == 0);  // #DF error code 0

  Machine t(FlatMode::Long64);
  t.long_mode_tables();
  t.set_gate64(vec::GP, STUB0 + 32 * vec::GP, 0, 0, false);
  t.set_gate64(vec::DF, STUB0 + 32 * vec::DF, 0, 0, false);
  t.load(stubs(64) + " mov rsp, 0x3ff00\n mov ax, 0x43\n mov ds, ax\n");
  CHECK(t.run() == StopReason::Shutdown);
  CHECK(t.cpu.stop_detail.find("triple fault") != std::string::npos);
}

TEST_CASE("long mode: benign then contributory is serial; #PF then #PF is #DF") {
  // #UD's gate is not present: the #NP raised while delivering it is
  // delivered instead, with EXT = 1 and the IDT bit (error 6*8+2+1).
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.set_gate64(vec::UD, STUB0 + 32 * vec::UD, 0, 0, false);
  m.load(stubs(64) + " mov rsp, 0x3ff00\n ud2\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.recorded_vector() == vec::NP);
  CHECK(m.get64(m.recorded_rsp()) == vec::UD * 8 + 3);

  // A page fault with an unmapped stack: pushing the #PF frame faults again.
  Machine p(FlatMode::Long64);
  p.long_mode_tables();
  p.set_gate64(vec::DF, STUB0 + 32 * vec::DF, 0, 1);  // #DF on IST1
  p.load(stubs(64) + " mov ax, 0x30\n ltr ax\n mov rsp, 0x100000100\n mov al, [rsp]\n");
  REQUIRE(p.run() == StopReason::Hlt);
  CHECK(p.recorded_vector() == vec::DF);
  CHECK(p.recorded_rsp() == IST1 - 48);
}

TEST_CASE("long mode: far CALL through a 64-bit call gate to ring 0 and RETF back") {
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  std::string src = stubs(64) + kToRing3 +
                    " mov rsp, 0x3fff0\n"
                    " call far [rel gptr]\n"
                    " mov [0x60010], rsp\n"
                    " mov word [0x60018], ds\n"
                    " int3\n"
                    "gptr: dq 0\n dw 0x4b\n"
                    " times 0x800 - ($ - $$) nop\n"
                    "target:\n"  // CODE + 0x800: copy the inner frame, return
                    " mov [0x60020], rsp\n"
                    " mov rax, [rsp]\n mov [0x60080], rax\n mov rax, [rsp+8]\n mov [0x60088], rax\n"
                    " mov rax, [rsp+16]\n mov [0x60090], rax\n mov rax, [rsp+24]\n mov [0x60098], rax\n"
                    " o64 retf\n";
  m.load(src);
  const uint64_t target = CODE + 0x800;
  m.put64(GDT + 0x48, gate_lo(0x08, target, 0xc, 3));
  m.put64(GDT + 0x50, target >> 32);
  m.set_gate64(vec::BP, STUB0 + 32 * vec::BP, 3, 0);
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.recorded_vector() == vec::BP);
  // In ring 0 the frame was SS, RSP, CS, RIP on RSP0 (no alignment).
  CHECK(m.get64(0x60020) == STACK0 - 32);
  // The return RIP follows the 7-byte REX.W CALL FAR [rel32] (48 FF 1D).
  const uint64_t ret = m.get64(0x60080);
  CHECK(m.get8(ret - 7) == 0x48);
  CHECK(m.get8(ret - 6) == 0xff);
  CHECK(m.get8(ret - 5) == 0x1d);
  CHECK(m.get64(0x60088) == 0x23);
  CHECK(m.get64(0x60090) == 0x3fff0);
  CHECK(m.get64(0x60098) == 0x2b);
  // Back in ring 3 with the old stack; DS (DPL 0) was nulled by RETF.
  CHECK(m.get64(0x60010) == 0x3fff0);
  CHECK(m.get16(0x60018) == 0);
}

TEST_CASE("long mode: far JMP to compatibility mode and back") {
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.load(stubs(64) +
         " mov rsp, 0x3ff00\n"
         " jmp far [rel p32]\n"
         "p32: dq compat\n dw 0x18\n"
         "bits 32\n"
         "compat:\n mov dword [0x60030], 0x1234\n jmp 0x08:back\n"
         "bits 64\n"
         "back:\n mov eax, 7\n hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.get32(0x60030) == 0x1234);
  CHECK(m.cpu.s.mode == Mode::Long64);
  CHECK(m.cpu.s.gpr[RAX] == 7);
}

TEST_CASE("long mode: near branch to a non-canonical target faults on the branch") {
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.load(stubs(64) + " mov rsp, 0x3ff00\n mov rax, 0x0000800000000000\n br: jmp rax\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.recorded_vector() == vec::GP);
  const uint64_t rsp = m.recorded_rsp();
  CHECK(m.get64(rsp) == 0);
  CHECK(m.get8(m.get64(rsp + 8)) == 0xff);  // RIP = the JMP itself
}

// ---------------------------------------------------------------------------
// Jcc, LOOP, JCXZ (handlers driven directly)
// ---------------------------------------------------------------------------

namespace {

// SDM Vol. 2 Appendix B Table B-11: condition of Jcc with low nibble cc.
bool reference_condition(unsigned cc, uint64_t f) {
  const bool cf = f & fl::CF, zf = f & fl::ZF, sf = f & fl::SF, of = f & fl::OF, pf = f & fl::PF;
  const bool table[16] = {of, !of, cf, !cf, zf, !zf, cf || zf, !cf && !zf,
                          sf, !sf, pf, !pf, sf != of, sf == of, zf || sf != of, !zf && sf == of};
  return table[cc];
}

}  // namespace

TEST_CASE("Jcc: all 16 conditions over all flag combinations, rel8 and rel32") {
  Machine m(FlatMode::Long64);
  const uint64_t flag_bits[] = {fl::CF, fl::ZF, fl::SF, fl::OF, fl::PF};
  for (unsigned cc = 0; cc < 16; ++cc) {
    for (unsigned combo = 0; combo < 32; ++combo) {
      uint64_t f = fl::FIXED1;
      for (unsigned b = 0; b < 5; ++b)
        if (combo & (1u << b)) f |= flag_bits[b];
      for (bool near32 : {false, true}) {
        std::vector<uint8_t> bytes = near32 ? std::vector<uint8_t>{0x0f, uint8_t(0x80 + cc), 0x10, 0, 0, 0}
                                            : std::vector<uint8_t>{uint8_t(0x70 + cc), 0x10};
        m.put(CODE, bytes);
        m.cpu.s.rip = CODE;
        m.cpu.s.rflags = f;
        m.cpu.s.halted = 0;
        m.step();
        const uint64_t fall = CODE + bytes.size();
        INFO("cc " << cc << " flags " << f);
        CHECK(m.cpu.s.rip == (reference_condition(cc, f) ? fall + 0x10 : fall));
      }
    }
  }
}

TEST_CASE("16-bit code: a jump wraps IP to 16 bits; LOOP counts CX by address size") {
  Machine m(FlatMode::Real16);
  // At IP 0xfff0 a JMP rel16 of +0x20 lands at 0x0013 (wrapped).
  m.put(CODE + 0xfff0, {0xe9, 0x20, 0x00});
  m.cpu.s.rip = 0xfff0;
  m.step();
  CHECK(m.cpu.s.rip == 0x0013);

  // LOOP with a 16-bit address size uses CX only, leaving ECX's top alone.
  m.cpu.s.gpr[RCX] = 0x12340001;
  m.put(CODE, {0xe2, 0x10});
  m.cpu.s.rip = 0;
  m.step();
  CHECK(m.cpu.s.gpr[RCX] == 0x12340000);
  CHECK(m.cpu.s.rip == 2);  // CX reached 0: not taken
  m.cpu.s.gpr[RCX] = 0x5;
  m.cpu.s.rip = 0;
  m.step();
  CHECK(m.cpu.s.gpr[RCX] == 0x4);
  CHECK(m.cpu.s.rip == 0x12);

  // 67 E3: JECXZ in 16-bit code tests ECX.
  m.cpu.s.gpr[RCX] = 0x10000;
  m.put(CODE, {0x67, 0xe3, 0x10});
  m.cpu.s.rip = 0;
  m.step();
  CHECK(m.cpu.s.rip == 3);
  m.cpu.s.gpr[RCX] = 0;
  m.cpu.s.rip = 0;
  m.step();
  CHECK(m.cpu.s.rip == 0x13);
}

TEST_CASE("prot32: a jump beyond the CS limit is #GP(0) on the jump") {
  Machine m(FlatMode::Prot32);
  m.cpu.s.seg[CS].limit = 0x10fff;
  m.put(CODE, {0xe9, 0x00, 0x10, 0x00, 0x00});  // jmp +0x1000 -> 0x11005
  m.cpu.s.rip = CODE;
  try {
    m.step();
    FAIL("no fault");
  } catch (const GuestException& e) {
    CHECK(e.vector == vec::GP);
    CHECK(e.error_code == 0);
  }
  CHECK(m.cpu.s.rip == CODE);
}

// ---------------------------------------------------------------------------
// Real mode and mode switches
// ---------------------------------------------------------------------------

TEST_CASE("real mode: INT n through the IVT pushes FLAGS CS IP and clears IF TF AC") {
  Machine m(FlatMode::Real16);
  m.load(
      "bits 16\norg 0\n sti\n int 0x21\nafter: mov [0x100], sp\n hlt\n"
      "handler: mov [0x102], sp\n mov bx, [0x102]\n mov ax, [bx]\n mov [0x104], ax\n"
      " mov ax, [bx+2]\n mov [0x106], ax\n mov ax, [bx+4]\n mov [0x108], ax\n iret\n");
  const uint16_t handler = 1 + 2 + 4 + 1;  // sti, int, mov [..],sp, hlt
  m.put16(0x21 * 4, handler);
  m.put16(0x21 * 4 + 2, 0x1000);
  m.cpu.s.idtr = DescTable{0, 0x3ff, 0};  // the flat runner leaves the limit at 0
  m.cpu.s.rflags |= fl::AC;
  REQUIRE(m.run() == StopReason::Hlt);
  const uint64_t data = 0x10000;
  CHECK(m.get16(data + 0x102) == 0xfff0 - 6);
  CHECK(m.get16(data + 0x104) == 3);       // IP after INT
  CHECK(m.get16(data + 0x106) == 0x1000);  // CS
  CHECK((m.get16(data + 0x108) & fl::IF));  // FLAGS image has IF
  CHECK(m.get16(data + 0x100) == 0xfff0);  // IRET restored SP
  CHECK((m.cpu.s.rflags & fl::IF));        // and IF
  CHECK(!(m.cpu.s.rflags & fl::AC));       // cleared by INT; a 16-bit IRET cannot restore it
}

TEST_CASE("real -> protected -> long mode and back to real mode") {
  Machine m(FlatMode::Real16);
  // GDT at 0x20000: 0x08 64-bit code, 0x10 data, 0x18 32-bit code (base
  // 0), 0x20 16-bit code base 0x10000, 0x28 16-bit data base 0x10000.
  const uint64_t g[] = {0, seg_desc(0, 0xfffff, 0x9b, 0xa), seg_desc(0, 0xfffff, 0x93, 0xc),
                        seg_desc(0, 0xfffff, 0x9b, 0xc), seg_desc(0x10000, 0xffff, 0x9b, 0),
                        seg_desc(0x10000, 0xffff, 0x93, 0)};
  for (size_t i = 0; i < std::size(g); ++i) m.put64(GDT + 8 * i, g[i]);
  // Page tables: PML4 at 0x1000 -> PDPT 0x2000 -> PD 0x3000, 2 MiB identity.
  m.put64(0x1000, 0x2003);
  m.put64(0x2000, 0x3003);
  for (uint64_t i = 0; i < 512; ++i) m.put64(0x3000 + 8 * i, (i << 21) | 0x83);
  m.put(CODE, assemble(
      "bits 16\norg 0\n"
      " lgdt [gdtr]\n"
      " mov eax, 0x60000011\n mov cr0, eax\n"
      " jmp dword 0x18:pm32 + 0x10000\n"
      "gdtr: dw 0x2f\n dd 0x20000\n"
      "bits 32\n"
      "pm32: mov ax, 0x10\n mov ds, ax\n mov ss, ax\n mov esp, 0x3f000\n"
      " mov dword [0x60000], 32\n"
      " mov eax, 0x20\n mov cr4, eax\n"          // PAE
      " mov eax, 0x1000\n mov cr3, eax\n"
      " mov ecx, 0xc0000080\n mov eax, 0x100\n mov edx, 0\n wrmsr\n"  // LME
      " mov eax, 0xe0000011\n mov cr0, eax\n"                  // PG -> LMA
      " jmp 0x08:lm64 + 0x10000\n"
      "bits 64\n"
      "lm64: mov dword [0x60004], 64\n"
      " mov rax, [abs 0x60000]\n"
      " jmp far [rel back32]\n"
      "back32: dq compat + 0x10000\n dw 0x18\n"
      "bits 32\n"
      "compat: mov eax, 0x60000011\n mov cr0, eax\n"   // leave IA-32e
      " mov ecx, 0xc0000080\n mov eax, 0\n mov edx, 0\n wrmsr\n"
      " jmp 0x20:pm16\n"
      "bits 16\n"
      "pm16: mov ax, 0x28\n mov ds, ax\n"
      " mov eax, 0x60000010\n mov cr0, eax\n"
      " jmp 0x1000:real\n"
      "real: mov ax, 0x1000\n mov ds, ax\n mov word [0x200], 0x5aa5\n hlt\n"));
  REQUIRE(m.run(200) == StopReason::Hlt);
  CHECK(m.get32(0x60000) == 32);
  CHECK(m.get32(0x60004) == 64);
  CHECK(m.get16(0x10200) == 0x5aa5);
  CHECK(m.cpu.s.mode == Mode::Real);
  CHECK(!(m.cpu.s.efer & efer::LMA));
  CHECK(m.cpu.s.seg[CS].sel == 0x1000);
  CHECK(m.cpu.s.seg[CS].base == 0x10000);
}

// ---------------------------------------------------------------------------
// Protected mode (32-bit): IDT, call gates, IRET
// ---------------------------------------------------------------------------

namespace {

void prot32_tables(Machine& m) {
  const uint64_t g[] = {0,
                        0,
                        seg_desc(0, 0xfffff, 0x93, 0xc),   // 0x10 data DPL0
                        seg_desc(0, 0xfffff, 0x9b, 0xc),   // 0x18 code DPL0
                        seg_desc(0, 0xfffff, 0xfb, 0xc),   // 0x20 code DPL3
                        seg_desc(0, 0xfffff, 0xf3, 0xc),   // 0x28 data DPL3
                        seg_desc(uint32_t(TSS), 0x67 + 0x2001, 0x89, 0),  // 0x30 32-bit TSS + I/O map
                        0,                                 // 0x38 call gate (set by tests)
                        seg_desc(0, 0xfffff, 0x13, 0xc)};  // 0x40 not present
  for (size_t i = 0; i < std::size(g); ++i) m.put64(GDT + 8 * i, g[i]);
  m.cpu.s.gdtr = DescTable{GDT, 0x7f, 0};
  for (unsigned v = 0; v < NSTUBS; ++v) m.put64(IDT + 8 * v, gate_lo(0x18, STUB0 + 32 * v, 0xe, 0));
  m.cpu.s.idtr = DescTable{IDT, 8 * NSTUBS - 1, 0};
  m.put32(TSS + 4, STACK0);  // ESP0
  m.put32(TSS + 8, 0x10);    // SS0
  m.put16(TSS + 0x66, 0x68); // I/O bitmap right after the TSS
}

const char* kToRing3_32 =
    " mov ax, 0x30\n ltr ax\n"
    " mov esp, 0x38000\n"
    " mov dword [esp], ring3\n mov dword [esp+4], 0x23\n mov dword [esp+8], 0x202\n"
    " mov dword [esp+12], 0x3fff0\n mov dword [esp+16], 0x2b\n"
    " iretd\n"
    "ring3: mov ax, 0x2b\n mov ds, ax\n mov es, ax\n";

}  // namespace

TEST_CASE("prot32: #GP with error code on a 32-bit same-privilege frame") {
  Machine m(FlatMode::Prot32);
  prot32_tables(m);
  m.load(stubs(32) + " mov esp, 0x3ff00\n mov ax, 0x43\n mov ds, ax\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.recorded_vector() == vec::GP);
  const uint32_t esp = uint32_t(m.recorded_rsp());
  CHECK(esp == 0x3ff00 - 16);  // error, EIP, CS, EFLAGS (no SS:ESP)
  CHECK(m.get32(esp) == 0x40);
  CHECK(m.get32(esp + 8) == 0x18);
  CHECK(m.get32(esp + 12) == (0x2 | fl::RF));
}

TEST_CASE("prot32: INT n from ring 3 switches to SS0:ESP0 and IRETD returns") {
  Machine m(FlatMode::Prot32);
  prot32_tables(m);
  m.put64(IDT + 8 * 0x28, gate_lo(0x18, 0, 0xf, 3));  // trap gate DPL 3, set below
  std::string src = stubs(32) + kToRing3_32 +
                    " int 0x28\n"
                    " mov [0x60040], esp\n mov [0x60044], ss\n"
                    " hlt\n"  // #GP at CPL 3 -> recorded by stub 13
                    "handler: mov [0x60048], esp\n iretd\n";
  std::vector<uint8_t> bin = assemble(src);
  m.put(CODE, bin);
  // Locate the handler: the last 7 bytes are "mov [abs32], esp" (6) and "iretd" (1).
  const uint64_t h = CODE + bin.size() - 7;
  m.put64(IDT + 8 * 0x28, gate_lo(0x18, h, 0xf, 3));
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.get32(0x60048) == STACK0 - 20);
  CHECK(m.get32(STACK0 - 20 + 4) == 0x23);
  CHECK(m.get32(STACK0 - 20 + 12) == 0x3fff0);
  CHECK(m.get32(STACK0 - 20 + 16) == 0x2b);
  CHECK(m.get32(0x60040) == 0x3fff0);
  CHECK(m.get16(0x60044) == 0x2b);
  CHECK(m.recorded_vector() == vec::GP);  // the HLT at CPL 3
}

TEST_CASE("prot32: CALL through a call gate copies parameters to the inner stack") {
  Machine m(FlatMode::Prot32);
  prot32_tables(m);
  std::string src = stubs(32) + kToRing3_32 +
                    " mov esp, 0x3ff00\n"
                    " mov dword [esp-8], 0x11111111\n mov dword [esp-4], 0x22222222\n"
                    " mov esp, 0x3fef8\n"
                    " call 0x3b:0\n"
                    " mov [0x60040], esp\n int3\n"
                    " times 0x800 - ($ - $$) nop\n"
                    "target: mov [0x60048], esp\n"  // CODE + 0x800: copy the inner frame
                    "%assign i 0\n%rep 6\n mov eax, [esp+i]\n mov [0x60080+i], eax\n%assign i i+4\n%endrep\n"
                    " retf 8\n";
  m.load(src);
  const uint64_t target = CODE + 0x800;
  m.put64(GDT + 0x38, gate_lo(0x18, target, 0xc, 3, 2));
  m.put64(IDT + 8 * 3, gate_lo(0x18, STUB0 + 32 * 3, 0xe, 3));
  REQUIRE(m.run() == StopReason::Hlt);
  // Inner stack: SS, ESP, param1, param0, CS, EIP.
  CHECK(m.get32(0x60048) == STACK0 - 24);
  const uint64_t inner = 0x60080;  // the copy
  CHECK(m.get32(inner + 4) == 0x23);
  CHECK(m.get32(inner + 8) == 0x11111111);
  CHECK(m.get32(inner + 12) == 0x22222222);
  CHECK(m.get32(inner + 16) == 0x3ff00 - 8);
  CHECK(m.get32(inner + 20) == 0x2b);
  // RETF 8 released the parameters on both stacks.
  CHECK(m.get32(0x60040) == 0x3ff00);
  CHECK(m.recorded_vector() == vec::BP);
}

TEST_CASE("prot32: IN/OUT at CPL 3 follow IOPL and the TSS I/O bitmap") {
  Machine m(FlatMode::Prot32);
  prot32_tables(m);
  // Bitmap: every port denied except 0xe9.
  for (unsigned i = 0; i < 0x2001; ++i) m.mem.ram()[TSS + 0x68 + i] = 0xff;
  m.mem.ram()[TSS + 0x68 + 0xe9 / 8] &= uint8_t(~(1u << (0xe9 % 8)));
  std::vector<std::pair<uint16_t, uint64_t>> writes;
  m.cpu.io_write = [&](uint16_t p, unsigned, uint64_t v) { writes.push_back({p, v}); };
  m.load(stubs(32) + kToRing3_32 + " mov al, 0x41\n out 0xe9, al\n mov dx, 0xea\n out dx, al\n");
  REQUIRE(m.run() == StopReason::Hlt);
  REQUIRE(writes.size() == 1);
  CHECK(writes[0].first == 0xe9);
  CHECK(writes[0].second == 0x41);
  CHECK(m.recorded_vector() == vec::GP);
  // A 2-byte access needs both bits clear: 0xe9..0xea is denied.
  Cpu& cpu = m.cpu;
  cpu.s.cpl = 3;
  CHECK(io_permitted(cpu, 0xe9, 1));
  CHECK(!io_permitted(cpu, 0xe9, 2));
  cpu.s.rflags |= fl::IOPL;  // IOPL 3: no bitmap check
  CHECK(io_permitted(cpu, 0xea, 4));
}

TEST_CASE("prot32: IRETD into virtual-8086 mode, INT n out of it and back, #GP from HLT") {
  Machine m(FlatMode::Prot32);
  prot32_tables(m);
  m.load(stubs(32) +
         " mov ax, 0x30\n ltr ax\n mov esp, 0x3ff00\n"
         " mov dword [esp], v86code - 0x10000\n mov dword [esp+4], 0x1000\n"
         " mov dword [esp+8], 0x23002\n"              // VM | IOPL 3 | bit 1
         " mov dword [esp+12], 0xfff0\n mov dword [esp+16], 0x2000\n"
         " mov dword [esp+20], 0x3000\n mov dword [esp+24], 0x4000\n"
         " mov dword [esp+28], 0x5000\n mov dword [esp+32], 0x6000\n"
         " iretd\n"
         " times 0x800 - ($ - $$) nop\n"
         "h30: mov ax, 0x10\n mov ds, ax\n mov [0x60040], esp\n"   // CODE + 0x800
         "%assign i 0\n%rep 9\n mov eax, [esp+i]\n mov [0x60080+i], eax\n%assign i i+4\n%endrep\n"
         " iretd\n"
         " times 0x900 - ($ - $$) nop\n"
         "h13: mov ax, 0x10\n mov ds, ax\n mov [0x60048], esp\n"   // CODE + 0x900
         "%assign i 0\n%rep 10\n mov eax, [esp+i]\n mov [0x600c0+i], eax\n%assign i i+4\n%endrep\n"
         " hlt\n"
         " times 0xa00 - ($ - $$) nop\n"
         "bits 16\n"
         "v86code: mov ax, 0x1234\n int 0x2f\n mov bx, 0x5678\n hlt\n");  // CODE + 0xa00
  m.put64(IDT + 8 * 0x2f, gate_lo(0x18, CODE + 0x800, 0xe, 3));
  m.put64(IDT + 8 * 13, gate_lo(0x18, CODE + 0x900, 0xe, 0));
  REQUIRE(m.run() == StopReason::Hlt);
  // INT 0x2f from virtual-8086 mode: GS, FS, DS, ES, SS, ESP, EFLAGS, CS,
  // EIP on the ring-0 stack (SDM 20.3.1.1).
  CHECK(m.get32(0x60040) == STACK0 - 36);
  CHECK(m.get32(0x60080) == 0xa00 + 3 + 2);  // after "mov ax, imm16" and "int 0x2f"
  CHECK(m.get32(0x60084) == 0x1000);
  CHECK(m.get32(0x60088) == 0x23002);
  CHECK(m.get32(0x6008c) == 0xfff0);
  CHECK(m.get32(0x60090) == 0x2000);
  CHECK(m.get32(0x60094) == 0x3000);
  CHECK(m.get32(0x60098) == 0x4000);
  CHECK(m.get32(0x6009c) == 0x5000);
  CHECK(m.get32(0x600a0) == 0x6000);
  // IRETD returned to virtual-8086 mode; HLT there is #GP(0).
  CHECK(m.get32(0x60048) == STACK0 - 40);
  CHECK(m.get32(0x600c0) == 0);                  // error code
  CHECK(m.get32(0x600c4) == 0xa00 + 3 + 2 + 3);  // the HLT after "mov bx, imm16"
  CHECK(m.get32(0x600cc) == (0x23002 | fl::RF));
  CHECK(m.get32(0x600dc) == 0x4000);             // DS restored by IRETD
  CHECK((m.cpu.s.gpr[RBX] & 0xffff) == 0x5678);
  CHECK(m.cpu.s.mode == Mode::Prot32);
  CHECK(m.cpu.s.seg[ES].sel == 0);               // nulled on entry from V86
}

TEST_CASE("prot32: JMP through a call gate, LLDT and an LDT selector, SLDT/STR, RET imm16, INTO") {
  Machine m(FlatMode::Prot32);
  prot32_tables(m);
  constexpr uint64_t LDT = 0x23000;
  m.put64(GDT + 0x48, seg_desc(uint32_t(LDT), 0xf, 0x82, 0));       // LDT, 2 entries
  m.put64(LDT + 8, seg_desc(0x1000, 0xfffff, 0x93, 0xc));          // LDT[1]: data base 0x1000
  m.load(stubs(32) +
         " mov esp, 0x3ff00\n mov ax, 0x30\n ltr ax\n"
         " jmp 0x38:0\n"
         " times 0x800 - ($ - $$) nop\n"
         "gate_target:\n"                                       // CODE + 0x800
         " mov ax, 0x48\n lldt ax\n"
         " mov ax, 0x0c\n mov ds, ax\n"                         // LDT[1], TI = 1
         " mov dword [0x5f200], 0xabcd\n"                       // DS base 0x1000: linear 0x60200
         " sldt [es:0x60100]\n str [es:0x60102]\n"
         " mov ax, 0x10\n mov ds, ax\n"
         " call near_sub\n"
         " mov [0x60104], esp\n"
         " mov eax, 0x7fffffff\n add eax, 1\n"                  // OF = 1
         " into\n"
         "after_into: hlt\n"
         "near_sub: ret 4\n");
  m.put64(GDT + 0x38, gate_lo(0x18, CODE + 0x800, 0xc, 0));
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.get32(0x60200) == 0xabcd);     // written through the LDT segment
  CHECK(m.get16(0x60100) == 0x48);
  CHECK(m.get16(0x60102) == 0x30);
  CHECK(m.get32(0x60104) == 0x3ff00 + 4);  // RET 4 released 4 bytes
  CHECK((m.get8(LDT + 8 + 5) & 1) == 1);   // accessed bit set in the LDT entry
  // INTO is a trap: the pushed EIP is the instruction after it (HLT).
  CHECK(m.recorded_vector() == vec::OF);
  CHECK(m.get8(m.get32(m.recorded_rsp())) == 0xf4);
  CHECK(m.get32(m.recorded_rsp() + 4) == 0x18);
}

TEST_CASE("INT1 delivers #DB as a trap; INT3 is checked against the gate DPL") {
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.load(stubs(64) + " mov rsp, 0x3ff00\n int1\n hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.recorded_vector() == vec::DB);
  CHECK(m.get8(m.get64(m.recorded_rsp())) == 0xf4);  // return to the HLT after INT1
  CHECK(m.recorded_rsp() == 0x3ff00 - 40);          // no error code

  // INT1 ignores the gate's DPL (SDM 6.12.1.1); INT3 from ring 3 through a
  // DPL-0 gate is #GP(3*8+2).
  Machine r(FlatMode::Long64);
  r.long_mode_tables();
  r.load(stubs(64) + kToRing3 + " int3\n");
  REQUIRE(r.run() == StopReason::Hlt);
  CHECK(r.recorded_vector() == vec::GP);
  CHECK(r.get64(r.recorded_rsp()) == 3 * 8 + 2);
  Machine d(FlatMode::Long64);
  d.long_mode_tables();
  d.load(stubs(64) + kToRing3 + " int1\n");
  REQUIRE(d.run() == StopReason::Hlt);
  CHECK(d.recorded_vector() == vec::DB);
}

// ---------------------------------------------------------------------------
// System instructions
// ---------------------------------------------------------------------------

TEST_CASE("MOV CR: reserved and inconsistent values are #GP(0)") {
  struct Case { const char* code; bool faults; };
  const Case cases[] = {
      {"mov rax, 0x80000000\n mov cr0, rax\n", true},            // PG without PE
      {"mov rax, 0xa0010033\n mov cr0, rax\n", true},            // NW without CD
      {"mov rax, 0x180010033\n mov cr0, rax\n", true},           // bit 32
      {"mov rax, 0\n mov cr4, rax\n", true},                     // clear PAE while LMA
      {"mov rax, 1 << 63\n mov cr3, rax\n", true},               // reserved (no PCID)
      {"mov rax, 0x10\n mov cr8, rax\n", true},                  // TPR bits 63:4
      {"mov rax, 0x4020\n mov cr4, rax\n", true},                // SMXE not offered
      {"mov rax, 0x1020\n mov cr4, rax\n", true},                // LA57 change while LMA
      {"mov rax, 0x400020\n mov cr4, rax\n", true},              // PKE not offered
      {"mov rax, 0x6a8\n mov cr4, rax\n mov rbx, 0xf\n", false}, // DE PGE OSFXSR OSXMMEXCPT
      {"mov rax, 0xf\n mov cr8, rax\n mov rbx, cr8\n", false},
      {"mov rax, 0x80000011\n mov cr0, rax\n mov rbx, 0xf\n", false},  // WP/NE/MP/ET change
  };
  for (const Case& c : cases) {
    Machine m(FlatMode::Long64);
    m.long_mode_tables();
    m.load(stubs(64) + " mov rsp, 0x3ff00\n" + c.code + " hlt\n");
    INFO(c.code);
    REQUIRE(m.run() == StopReason::Hlt);
    if (c.faults) {
      CHECK(m.recorded_vector() == vec::GP);
      CHECK(m.get64(m.recorded_rsp()) == 0);
    } else {
      CHECK(m.get32(REC) == 0);
      CHECK(m.cpu.s.gpr[RBX] == 0xf);
    }
  }
}

TEST_CASE("MOV DR: DR4/DR5 alias DR6/DR7 unless CR4.DE; reserved bits read fixed") {
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.load(stubs(64) + " mov rsp, 0x3ff00\n mov rax, 0\n mov dr7, rax\n mov rbx, dr5\n"
                     " mov dr6, rax\n mov rcx, dr4\n hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.cpu.s.gpr[RBX] == 0x400);
  CHECK(m.cpu.s.gpr[RCX] == 0xffff0ff0);
  CHECK(m.get32(REC) == 0);
  // With CR4.DE = 1, DR4/DR5 are #UD (the check precedes CPL).
  Machine d(FlatMode::Long64);
  d.long_mode_tables();
  d.load(stubs(64) + " mov rsp, 0x3ff00\n mov rax, 0x628\n mov cr4, rax\n mov rdx, dr4\n");
  REQUIRE(d.run() == StopReason::Hlt);
  CHECK(d.recorded_vector() == vec::UD);
  // DR7.GD: any debug-register access is #DB with DR6.BD set, GD cleared.
  Machine g(FlatMode::Long64);
  g.long_mode_tables();
  g.cpu.s.dr[7] = 0x2400;
  g.load(stubs(64) + " mov rsp, 0x3ff00\n mov rdx, dr0\n");
  REQUIRE(g.run() == StopReason::Hlt);
  CHECK(g.recorded_vector() == vec::DB);
  CHECK((g.cpu.s.dr[6] & 0x2000));
  CHECK(g.cpu.s.dr[7] == 0x400);
}

TEST_CASE("RDMSR/WRMSR: EFER rules, canonical MSRs, unknown MSR, TSC") {
  struct Case { const char* code; bool faults; };
  const Case cases[] = {
      {"mov ecx, 0xc0000080\n mov eax, 0xc01\n mov edx, 0\n wrmsr\n", true},   // LME with PG on
      {"mov ecx, 0xc0000080\n mov eax, 0x1d01\n mov edx, 0\n wrmsr\n", true},  // SVME not offered
      {"mov ecx, 0xc0000080\n rdmsr\n wrmsr\n", false},                    // round trip
      {"mov ecx, 0xc0000082\n mov edx, 0x00008000\n mov eax, 0\n wrmsr\n", true},  // LSTAR non-canonical
      {"mov ecx, 0xc0000100\n mov edx, 0x1\n mov eax, 0x2000\n wrmsr\n", false},
      {"mov ecx, 0x12345\n rdmsr\n", true},
      {"mov ecx, 0x277\n mov eax, 0x02\n mov edx, 0\n wrmsr\n", true},   // PAT type 2
      {"mov ecx, 0x3a\n mov eax, 1\n mov edx, 0\n wrmsr\n mov eax, 5\n wrmsr\n", true},  // locked
  };
  for (const Case& c : cases) {
    Machine m(FlatMode::Long64);
    m.long_mode_tables();
    m.load(stubs(64) + " mov rsp, 0x3ff00\n" + c.code + " hlt\n");
    INFO(c.code);
    REQUIRE(m.run() == StopReason::Hlt);
    if (c.faults) {
      CHECK(m.recorded_vector() == vec::GP);
      CHECK(m.get64(m.recorded_rsp()) == 0);
    } else {
      CHECK(m.get32(REC) == 0);
    }
  }
  Machine f(FlatMode::Long64);
  f.long_mode_tables();
  f.load(stubs(64) + " mov ecx, 0xc0000100\n mov edx, 0x1\n mov eax, 0x2000\n wrmsr\n"
                     " mov ecx, 0x10\n mov edx, 1\n mov eax, 0\n wrmsr\n rdtsc\n hlt\n");
  REQUIRE(f.run() == StopReason::Hlt);
  CHECK(f.cpu.s.seg[FS].base == 0x100002000ull);
  // TSC written to 2^32 at the WRMSR; RDTSC is one instruction later.
  CHECK(((f.cpu.s.gpr[RDX] << 32) | f.cpu.s.gpr[RAX]) == 0x100000001ull);
}

TEST_CASE("CPUID returns the model's leaves; RDTSCP returns TSC_AUX") {
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.load(stubs(64) + " mov eax, 0\n cpuid\n mov [0x60040], ebx\n mov [0x60044], edx\n mov [0x60048], ecx\n"
                     " mov ecx, 0xc0000103\n mov eax, 0x77\n mov edx, 0\n wrmsr\n rdtscp\n hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(std::string(reinterpret_cast<const char*>(m.mem.ram() + 0x60040), 12) == "GenuineIntel");
  CHECK(m.cpu.s.gpr[RCX] == 0x77);
}

TEST_CASE("SGDT/SIDT store 10 bytes in 64-bit mode; LGDT with 16-bit operand loads 24 bits") {
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.load(stubs(64) + " sgdt [0x60040]\n sidt [0x60050]\n hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.get16(0x60040) == 0x7f);
  CHECK(m.get64(0x60042) == GDT);
  CHECK(m.get16(0x60050) == 16 * NSTUBS - 1);

  Machine r(FlatMode::Real16);
  r.load("bits 16\norg 0\n lgdt [d]\n o32 lidt [d]\n hlt\nd: dw 0x1234\n dd 0xaabbccdd\n");
  REQUIRE(r.run() == StopReason::Hlt);
  CHECK(r.cpu.s.gdtr.limit == 0x1234);
  CHECK(r.cpu.s.gdtr.base == 0xbbccdd);
  CHECK(r.cpu.s.idtr.base == 0xaabbccdd);
}

TEST_CASE("LAR, LSL, VERR, VERW report access by ZF") {
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.load(stubs(64) +
         " mov ecx, 0x10\n lar eax, ecx\n jnz n1\n mov byte [0x60040], 1\nn1:\n"
         " lsl ebx, ecx\n jnz n2\n mov byte [0x60041], 1\nn2:\n"
         " mov ecx, 0x40\n lar edi, ecx\n jnz n3\n mov byte [0x60042], 1\nn3:\n"
         " mov ecx, 0x80\n mov edx, 0x99\n lar edx, ecx\n jz n4\n mov byte [0x60043], 1\nn4:\n"
         " mov ecx, 0x18\n verr cx\n jnz n5\n mov byte [0x60044], 1\nn5:\n"
         " verw cx\n jz n6\n mov byte [0x60045], 1\nn6:\n"
         " mov ecx, 0x10\n verw cx\n jnz n7\n mov byte [0x60046], 1\nn7:\n"
         " mov ecx, 0x30\n lsl esi, ecx\n"
         " hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.cpu.s.gpr[RAX] == 0x00c09300);
  CHECK(m.cpu.s.gpr[RBX] == 0xffffffff);
  CHECK(m.cpu.s.gpr[RDI] == 0x00c01300);  // LAR does not require P
  CHECK(m.cpu.s.gpr[RDX] == 0x99);        // failure leaves the destination
  for (uint64_t a = 0x60040; a <= 0x60046; ++a) CHECK(m.get8(a) == 1);
  CHECK((m.cpu.s.rflags & fl::ZF));       // the LSL on the TSS succeeded
  CHECK(m.cpu.s.gpr[RSI] == 0x67);
}

// ---------------------------------------------------------------------------
// The system guest programs (tests/guest/sys_*.asm), run on the stepping
// loop above and checked against their "; expect:" headers. The guest
// corpus runner runs the same programs through `softvt run`.
// ---------------------------------------------------------------------------

namespace {

struct Expectation {
  FlatMode mode = FlatMode::Long64;
  std::vector<std::pair<std::string, uint64_t>> regs;
  std::string exit = "hlt";
};

Expectation parse_header(const std::string& path) {
  Expectation e;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("; expect-mode:", 0) == 0) {
      std::string m = line.substr(14);
      m.erase(0, m.find_first_not_of(' '));
      REQUIRE(parse_flat_mode(m, e.mode));
    } else if (line.rfind("; expect:", 0) == 0) {
      std::istringstream words(line.substr(9));
      std::string w;
      while (words >> w) {
        const size_t eq = w.find('=');
        const std::string k = w.substr(0, eq), v = w.substr(eq + 1);
        if (k == "exit") e.exit = v;
        else e.regs.push_back({k, std::stoull(v, nullptr, 0)});
      }
    }
  }
  return e;
}

uint64_t reg_named(const CpuState& s, const std::string& n) {
  static const char* names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                  "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  for (unsigned i = 0; i < 16; ++i)
    if (n == names[i]) return s.gpr[i];
  FAIL("unknown register " << n);
  return 0;
}

void run_guest(const std::string& name) {
  const char* src_dir = std::getenv("SOFTVT_SOURCE_DIR");
  const char* bin_dir = std::getenv("SOFTVT_GUEST_DIR");
  REQUIRE(src_dir != nullptr);
  REQUIRE(bin_dir != nullptr);
  const Expectation e = parse_header(std::string(src_dir) + "/tests/guest/" + name + ".asm");
  std::ifstream f(std::string(bin_dir) + "/" + name + ".bin", std::ios::binary);
  REQUIRE(f.good());
  std::vector<uint8_t> image((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  Machine m(e.mode);
  m.cpu.s = setup_flat(m.mem, image, CODE, e.mode);
  m.cpu.update_mode();
  const StopReason r = m.run(200000);
  INFO(name << ": " << m.cpu.stop_detail);
  CHECK(std::string(stop_reason_name(r)) == e.exit);
  for (const auto& [k, v] : e.regs) {
    INFO(name << " " << k);
    CHECK(reg_named(m.cpu.s, k) == v);
  }
}

}  // namespace

TEST_CASE("guest programs: sys_*.asm reach their expected state") {
  for (const char* name : {"sys_exceptions_long64", "sys_double_fault_long64", "sys_triple_fault_long64",
                           "sys_real_ivt_real16", "sys_mode_switch_real16", "sys_call_gate_prot32"})
    run_guest(name);
}
