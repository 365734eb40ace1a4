// System architecture of issue 3 against the SDM (AMD APM where the model
// is AMD's): SYSCALL/SYSRET, SYSENTER/SYSEXIT, SWAPGS, FS/GS base
// instructions, RDPID, RDRAND/RDSEED, cache-line and MONITOR/MWAIT checks,
// INVPCID, STAC/CLAC, the MSRs (MTRRs, PAT, machine check, TSC and
// IA32_TSC_ADJUST, IA32_MISC_ENABLE, EFER), CR4 and the paging rules (NX,
// SMEP, SMAP, UMIP, CR0.WP, PCID, global pages, INVLPG of large pages).
//
// Snippets are assembled with nasm at test time and run on a stepping loop
// that decodes each instruction with softvt's decoder for the chosen CPU
// model and delivers exceptions like the run loop (as test_system.cpp).
#include <catch.hpp>

#include <cstdio>
#include <functional>
#include <memory>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "decoder/decoder.h"
#include "emu/block_cache.h"
#include "emu/cli/cpu_option.h"
#include "emu/cpu.h"
#include "emu/interp/system_forms.h"
#include "emu/loader/flat.h"
#include "emu/paging.h"
#include "tests/unit/nasm_support.h"

using namespace softvt;

namespace {

std::vector<uint8_t> assemble(const std::string& src) { return test::assemble_nasm(src); }

uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags) {
  return (uint64_t(limit) & 0xffff) | (uint64_t(base & 0xffffff) << 16) | (uint64_t(access) << 40) |
         (uint64_t((limit >> 16) & 0xf) << 48) | (uint64_t(flags & 0xf) << 52) |
         (uint64_t(base >> 24) << 56);
}
uint64_t gate_lo(uint16_t sel, uint64_t off, uint8_t type, uint8_t dpl) {
  return (off & 0xffff) | (uint64_t(sel) << 16) | (uint64_t(type | (dpl << 5) | 0x80) << 40) |
         (uint64_t((off >> 16) & 0xffff) << 48);
}

constexpr uint64_t CODE = 0x10000, GDT = 0x20000, IDT = 0x21000, TSS = 0x22000;
constexpr uint64_t STACK0 = 0x30000, REC = 0x60000;
constexpr uint64_t STUB0 = CODE + 0x20;  // stub v at STUB0 + 32 * v
constexpr unsigned NSTUBS = 32;
constexpr uint32_t NO_VECTOR = 0xffffffff;

// Recording stubs: vector at REC, RSP at REC + 8, then HLT.
std::string stubs(int bits) {
  std::string s = "bits " + std::to_string(bits) + "\norg 0x10000\n jmp start\n align 32\n";
  s += "%assign v 0\n%rep 32\n mov dword [0x60000], v\n";
  s += bits == 64 ? " mov [0x60008], rsp\n" : " mov [0x60008], esp\n";
  s += " hlt\n align 32\n%assign v v+1\n%endrep\nstart:\n";
  return s;
}

struct Machine {
  CpuModel model;
  Memory mem{64 << 20};
  Cpu cpu{mem, model};
  Decoder dec{model};

  explicit Machine(FlatMode mode, const std::string& cpu_option = "intel")
      : model(parse_cpu_option(cpu_option)) {
    cpu.s = setup_flat(mem, {0xf4}, CODE, mode);
    cpu.update_mode();
    put32(REC, NO_VECTOR);
  }

  void put(uint64_t addr, const std::vector<uint8_t>& b) { std::memcpy(mem.ram() + addr, b.data(), b.size()); }
  void put64(uint64_t addr, uint64_t v) { std::memcpy(mem.ram() + addr, &v, 8); }
  void put32(uint64_t addr, uint32_t v) { std::memcpy(mem.ram() + addr, &v, 4); }
  uint64_t get64(uint64_t addr) const { uint64_t v; std::memcpy(&v, mem.ram() + addr, 8); return v; }
  uint32_t get32(uint64_t addr) const { uint32_t v; std::memcpy(&v, mem.ram() + addr, 4); return v; }
  void load(const std::string& src) { put(CODE, assemble(src)); }

  // Long mode: GDT, a 64-bit IDT of recording stubs, a TSS with RSP0.
  void long_mode_tables() {
    const uint64_t g[] = {0,
                          seg_desc(0, 0xfffff, 0x9b, 0xa),   // 0x08 64-bit code DPL0
                          seg_desc(0, 0xfffff, 0x93, 0xc),   // 0x10 data DPL0
                          seg_desc(0, 0xfffff, 0xfb, 0xc),   // 0x18 32-bit code DPL3
                          seg_desc(0, 0xfffff, 0xf3, 0xc),   // 0x20 data DPL3
                          seg_desc(0, 0xfffff, 0xfb, 0xa),   // 0x28 64-bit code DPL3
                          seg_desc(uint32_t(TSS), 0x67, 0x89, 0),  // 0x30 TSS (16 bytes)
                          0,
                          seg_desc(0, 0xfffff, 0x9b, 0xc),   // 0x40 32-bit code DPL0
                          };
    for (size_t i = 0; i < std::size(g); ++i) put64(GDT + 8 * i, g[i]);
    cpu.s.gdtr = DescTable{GDT, 0x7f, 0};
    for (unsigned v = 0; v < NSTUBS; ++v) {
      put64(IDT + 16 * v, gate_lo(0x08, STUB0 + 32 * v, 0xe, 0));
      put64(IDT + 16 * v + 8, 0);
    }
    cpu.s.idtr = DescTable{IDT, 16 * NSTUBS - 1, 0};
    put64(TSS + 4, STACK0);  // RSP0
  }

  // Protected mode (no paging): GDT with flat code/data and a 32-bit IDT.
  void prot32_tables() {
    const uint64_t g[] = {0,
                          seg_desc(0, 0xfffff, 0x9b, 0xc),   // 0x08 32-bit code DPL0
                          seg_desc(0, 0xfffff, 0x93, 0xc),   // 0x10 data DPL0
                          seg_desc(0, 0xfffff, 0xfb, 0xc),   // 0x18 32-bit code DPL3
                          seg_desc(0, 0xfffff, 0xf3, 0xc),   // 0x20 data DPL3
                          };
    for (size_t i = 0; i < std::size(g); ++i) put64(GDT + 8 * i, g[i]);
    cpu.s.gdtr = DescTable{GDT, 0x27, 0};
    for (unsigned v = 0; v < NSTUBS; ++v) put64(IDT + 8 * v, gate_lo(0x08, STUB0 + 32 * v, 0xe, 0));
    cpu.s.idtr = DescTable{IDT, 8 * NSTUBS - 1, 0};
    cpu.s.seg[CS] = Cpu::segment_from_descriptor(0x08, seg_desc(0, 0xfffff, 0x9b, 0xc));
    cpu.update_mode();
  }

  bool is_special_mov(const Insn& in) const {
    if (in.mnemonic != ZYDIS_MNEMONIC_MOV) return false;
    for (unsigned i = 0; i < 2; ++i)
      if (in.op[i].kind == OpKind::Reg && in.op[i].reg >= reg::SEG0 && in.op[i].reg < reg::XMM0)
        return true;
    return false;
  }

  StopReason run(unsigned max_steps = 2000) {
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
    if (b64) cpu.linear(CS, cpu.s.rip, 1, Acc::Exec);  // canonical RIP check
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

  uint32_t vector() const { return get32(REC); }
  uint64_t frame(unsigned i) const { return get64(get64(REC + 8) + 8 * i); }
};

}  // namespace


namespace {

constexpr uint64_t OUT = 0x60100;  // results the snippets store
constexpr uint32_t DONE = 0x99;    // stored at OUT + 0x40 when a snippet completes

// WRMSR/RDMSR of a 64-bit constant in assembly.
std::string wrmsr(uint32_t index, uint64_t v) {
  char b[160];
  std::snprintf(b, sizeof b, " mov ecx, 0x%x\n mov eax, 0x%x\n mov edx, 0x%x\n wrmsr\n", index,
                unsigned(v & 0xffffffff), unsigned(v >> 32));
  return b;
}
std::string set_cr4_bits(uint64_t bits) {
  return " mov rax, cr4\n mov rbx, " + std::to_string(bits) + "\n or rax, rbx\n mov cr4, rax\n";
}
const char* kDone = " mov dword [0x60140], 0x99\n";

// Enters ring 3 (64-bit, CS 0x2b, SS 0x23) through IRETQ; RSP0 = STACK0.
const char* kToRing3 =
    " mov ax, 0x30\n ltr ax\n"
    " mov rsp, 0x38000\n"
    " mov qword [rsp], ring3\n mov qword [rsp+8], 0x2b\n mov qword [rsp+16], 0x202\n"
    " mov qword [rsp+24], 0x3fff0\n mov qword [rsp+32], 0x23\n"
    " iretq\n"
    "ring3:\n";

// Runs a 64-bit CPL-0 snippet (then HLT) on a fresh long-mode machine.
struct Snippet {
  std::unique_ptr<Machine> m;
  uint32_t vector;  // NO_VECTOR if nothing was raised
  bool done;        // reached kDone
  uint64_t error() const { return m->frame(0); }
};

Snippet run64(const std::string& code, const std::string& cpu = "intel",
              const std::function<void(Machine&)>& setup = nullptr) {
  Snippet r;
  r.m = std::make_unique<Machine>(FlatMode::Long64, cpu);
  r.m->long_mode_tables();
  if (setup) setup(*r.m);
  r.m->load(stubs(64) + " mov rsp, 0x3ff00\n" + code + kDone + " hlt\n");
  INFO(code);
  REQUIRE(r.m->run() == StopReason::Hlt);
  r.vector = r.m->vector();
  r.done = r.m->get32(0x60140) == DONE;
  return r;
}

bool gp0(const Snippet& r) { return r.vector == vec::GP && r.error() == 0 && !r.done; }
bool ud(const Snippet& r) { return r.vector == vec::UD && !r.done; }
bool ok(const Snippet& r) { return r.vector == NO_VECTOR && r.done; }

}  // namespace

// ---------------------------------------------------------------------------
// SYSCALL / SYSRET
// ---------------------------------------------------------------------------

namespace {
// STAR: SYSCALL CS 0x08 (SS 0x10); SYSRET base 0x18: 32-bit CS 0x1b, SS
// 0x23, 64-bit CS 0x2b. LSTAR = kernel, SFMASK = TF|IF|DF|NT.
std::string syscall_msrs(const char* lstar_label = "kernel") {
  return wrmsr(0xc0000081, 0x0018000800000000ull) + " mov ecx, 0xc0000082\n mov rax, " + lstar_label +
         "\n mov rdx, rax\n shr rdx, 32\n wrmsr\n" + wrmsr(0xc0000084, 0x4700);
}
}  // namespace

TEST_CASE("SYSCALL/SYSRET in 64-bit mode: selectors, RCX/R11, FMASK, SYSRET's RFLAGS") {
  for (const char* cpu : {"intel", "amd"}) {
    INFO(cpu);
    Machine m(FlatMode::Long64, cpu);
    m.long_mode_tables();
    m.load(stubs(64) + syscall_msrs() + kToRing3 +
           " mov rsp, 0x3fff0\n pushfq\n or qword [rsp], 0x400\n popfq\n"  // DF = 1
           " syscall\n"
           "after_syscall:\n hlt\n"
           "kernel:\n mov [0x60100], rcx\n mov [0x60108], r11\n pushfq\n pop rax\n mov [0x60110], rax\n"
           " mov [0x60118], cs\n mov [0x60120], ss\n mov [0x60128], rsp\n"
           " mov rcx, user2\n mov r11, 0xfffffffffffffeff\n o64 sysret\n"
           "user2:\n mov [0x60130], cs\n mov [0x60138], ss\n pushfq\n pop rax\n mov [0x60148], rax\n"
           " jmp $\n");
    CHECK(m.run(200) == StopReason::Limit);
    CHECK(m.vector() == NO_VECTOR);
    const uint64_t after = m.get64(0x60100);
    CHECK(m.get64(0x60100) == after);
    CHECK(m.mem.ram()[after] == 0xf4);          // RCX = the instruction after SYSCALL
    CHECK(m.get64(0x60108) == 0x602);           // R11 = RFLAGS (IF, DF)
    CHECK(m.get64(0x60110) == 0x2);             // RFLAGS AND NOT FMASK
    CHECK((m.get64(0x60118) & 0xffff) == 0x08); // CS = STAR[47:32] & ~3
    CHECK((m.get64(0x60120) & 0xffff) == 0x10); // SS = CS + 8
    CHECK(m.get64(0x60128) == 0x3fff0);         // RSP unchanged
    CHECK((m.get64(0x60130) & 0xffff) == 0x2b); // 64-bit SYSRET: STAR[63:48] + 16 | 3
    CHECK((m.get64(0x60138) & 0xffff) == 0x23); // STAR[63:48] + 8 | 3
    // RFLAGS = (R11 & 3C7FD7H) | 2: RF, VM and reserved bits dropped.
    CHECK(m.get64(0x60148) == 0x3c7ed7);
    CHECK(m.cpu.s.cpl == 3);
    CHECK(m.cpu.s.mode == Mode::Long64);
    // Intel loads a DPL-3 flat SS; AMD leaves SS's hidden part as it was
    // (here the DPL-0 flat data segment SYSCALL loaded).
    CHECK(m.cpu.s.seg[SS].dpl() == (std::string(cpu) == "intel" ? 3 : 0));
    CHECK(m.cpu.s.seg[CS].dpl() == 3);
  }
}

TEST_CASE("SYSCALL/SYSRET: #UD without EFER.SCE; SYSRET at CPL 3 is #GP(0)") {
  CHECK(ud(run64(wrmsr(0xc0000080, 0xd00) + " syscall\n")));
  CHECK(ud(run64(wrmsr(0xc0000080, 0xd00) + " o64 sysret\n")));
  CHECK(ud(run64(" syscall\n", "intel,-syscall")));
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.load(stubs(64) + kToRing3 + " o64 sysret\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.vector() == vec::GP);
  CHECK(m.frame(0) == 0);
  CHECK(m.frame(2) == 0x2b);  // raised at CPL 3
}

TEST_CASE("SYSRET to a non-canonical RCX: #GP(0) at CPL 0 on Intel, a CPL-3 fetch fault on AMD") {
  for (const char* cpu : {"intel", "amd"}) {
    INFO(cpu);
    Machine m(FlatMode::Long64, cpu);
    m.long_mode_tables();
    m.load(stubs(64) + syscall_msrs() + " mov ax, 0x30\n ltr ax\n mov rcx, 0x0000800000000000\n"
           " mov r11, 0x2\n sysret_here: o64 sysret\n kernel: hlt\n");
    REQUIRE(m.run() == StopReason::Hlt);
    CHECK(m.vector() == vec::GP);
    CHECK(m.frame(0) == 0);
    if (std::string(cpu) == "intel") {
      CHECK(m.frame(2) == 0x08);                        // still at CPL 0
      CHECK(m.mem.ram()[m.frame(1)] == 0x48);           // RIP = the SYSRET (REX.W)
    } else {
      CHECK(m.frame(2) == 0x2b);                        // at CPL 3
      CHECK(m.frame(1) == 0x0000800000000000ull);       // RIP = the non-canonical target
    }
  }
}

TEST_CASE("SYSCALL from compatibility mode: #UD on Intel, CSTAR on AMD") {
  for (const char* cpu : {"intel", "amd"}) {
    INFO(cpu);
    Machine m(FlatMode::Long64, cpu);
    m.long_mode_tables();
    m.load(stubs(64) + syscall_msrs("kernel64") + " mov ecx, 0xc0000083\n mov eax, cstar_target\n"
           " xor edx, edx\n wrmsr\n"
           " push 0x40\n push compat\n retfq\n"
           "bits 32\ncompat:\n syscall\n compat_next: hlt\n"
           "bits 64\nkernel64: hlt\n"
           "cstar_target:\n mov [0x60100], rcx\n mov [0x60108], cs\n" + std::string(kDone) + " hlt\n");
    REQUIRE(m.run() == StopReason::Hlt);
    if (std::string(cpu) == "intel") {
      CHECK(m.vector() == vec::UD);
    } else {
      CHECK(m.vector() == NO_VECTOR);
      CHECK(m.get32(0x60140) == DONE);
      CHECK(m.mem.ram()[m.get64(0x60100)] == 0xf4);   // RCX = compat_next
      CHECK((m.get64(0x60108) & 0xffff) == 0x08);     // 64-bit kernel CS
    }
  }
}

TEST_CASE("SYSCALL/SYSRET in legacy protected mode: AMD only") {
  for (const char* cpu : {"intel", "amd"}) {
    INFO(cpu);
    Machine m(FlatMode::Prot32, cpu);
    m.prot32_tables();
    // STAR[31:0] = target EIP, SYSCALL CS 0x08, SYSRET CS 0x18.
    m.load(stubs(32) +
           " mov ecx, 0xc0000080\n mov eax, 1\n xor edx, edx\n wrmsr\n"  // EFER.SCE
           " mov ecx, 0xc0000081\n mov eax, target\n mov edx, 0x00180008\n wrmsr\n"
           " mov esp, 0x3ff00\n sti\n syscall\n"
           "next: hlt\n"
           "target:\n mov [0x60100], ecx\n pushfd\n pop eax\n mov [0x60108], eax\n"
           " mov [0x60110], cs\n mov [0x60118], ss\n"
           " mov ecx, user\n sysret\n"
           "user:\n mov [0x60120], cs\n mov [0x60128], ss\n pushfd\n pop eax\n mov [0x60130], eax\n jmp $\n");
    const StopReason r = m.run(200);
    if (std::string(cpu) == "intel") {
      CHECK(r == StopReason::Hlt);
      CHECK(m.vector() == vec::UD);
      continue;
    }
    CHECK(r == StopReason::Limit);
    CHECK(m.mem.ram()[m.get32(0x60100)] == 0xf4);  // ECX = next
    CHECK((m.get32(0x60108) & fl::IF) == 0);        // IF cleared
    CHECK((m.get32(0x60110) & 0xffff) == 0x08);
    CHECK((m.get32(0x60118) & 0xffff) == 0x10);
    CHECK((m.get32(0x60120) & 0xffff) == 0x1b);     // STAR[63:48] | 3
    CHECK((m.get32(0x60128) & 0xffff) == 0x23);     // STAR[63:48] + 8 | 3
    CHECK((m.get32(0x60130) & fl::IF) != 0);        // SYSRET sets IF
    CHECK(m.cpu.s.cpl == 3);
    CHECK(m.cpu.s.mode == Mode::Prot32);
  }
}

// ---------------------------------------------------------------------------
// SYSENTER / SYSEXIT, SWAPGS
// ---------------------------------------------------------------------------

TEST_CASE("SYSENTER/SYSEXIT in IA-32e mode (Intel): flat segments, RSP/RIP from the MSRs, REX.W SYSEXIT") {
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.load(stubs(64) + wrmsr(0x174, 0x08) + wrmsr(0x175, 0x3f000) +
         " mov ecx, 0x176\n mov eax, entry\n xor edx, edx\n wrmsr\n" + kToRing3 +
         " sysenter\n hlt\n"
         "entry:\n mov [0x60100], rsp\n mov [0x60108], cs\n mov [0x60110], ss\n pushfq\n pop rax\n"
         " mov [0x60118], rax\n mov rcx, 0x3eff0\n mov rdx, user2\n o64 sysexit\n"
         "user2:\n jmp $\n");
  CHECK(m.run(200) == StopReason::Limit);
  CHECK(m.vector() == NO_VECTOR);
  CHECK(m.get64(0x60100) == 0x3f000);
  CHECK((m.get64(0x60108) & 0xffff) == 0x08);
  CHECK((m.get64(0x60110) & 0xffff) == 0x10);
  CHECK((m.get64(0x60118) & fl::IF) == 0);
  CHECK(m.cpu.s.seg[CS].sel == 0x2b);  // SYSENTER_CS + 32 | 3
  CHECK(m.cpu.s.seg[SS].sel == 0x33);  // SYSENTER_CS + 40 | 3
  CHECK(m.cpu.s.mode == Mode::Long64);
  CHECK(m.cpu.s.cpl == 3);
  CHECK(m.cpu.s.gpr[RSP] == 0x3eff0);
  CHECK(m.cpu.s.seg[SS].dpl() == 3);
}

TEST_CASE("SYSENTER/SYSEXIT faults: null SYSENTER_CS, CPL 3 SYSEXIT, non-canonical SYSEXIT, AMD long mode") {
  CHECK(gp0(run64(" sysenter\n")));                                 // SYSENTER_CS = 0
  CHECK(gp0(run64(wrmsr(0x174, 0x3) + " sysenter\n")));             // bits 15:2 = 0
  CHECK(gp0(run64(wrmsr(0x174, 0x08) + " mov rcx, 0x0000800000000000\n o64 sysexit\n")));
  CHECK(ud(run64(wrmsr(0x174, 0x08) + " sysenter\n", "amd")));
  CHECK(ud(run64(" sysenter\n", "intel,-sep")));
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.load(stubs(64) + wrmsr(0x174, 0x08) + kToRing3 + " sysexit\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.vector() == vec::GP);
  CHECK(m.frame(2) == 0x2b);
}

TEST_CASE("SWAPGS exchanges GS.base and IA32_KERNEL_GS_BASE; #UD outside 64-bit mode, #GP(0) at CPL 3") {
  Snippet r = run64(wrmsr(0xc0000101, 0x1111) + wrmsr(0xc0000102, 0x2222) + " swapgs\n");
  CHECK(ok(r));
  CHECK(r.m->cpu.s.seg[GS].base == 0x2222);
  CHECK(r.m->cpu.s.kernel_gs_base == 0x1111);
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.load(stubs(64) + " push 0x40\n push compat\n retfq\nbits 32\ncompat: db 0x0f, 0x01, 0xf8 ; swapgs\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.vector() == vec::UD);
  Machine u(FlatMode::Long64);
  u.long_mode_tables();
  u.load(stubs(64) + kToRing3 + " swapgs\n");
  REQUIRE(u.run() == StopReason::Hlt);
  CHECK(u.vector() == vec::GP);
}

// ---------------------------------------------------------------------------
// FS/GS base, RDPID, RDRAND/RDSEED
// ---------------------------------------------------------------------------

TEST_CASE("RD/WRFSBASE, RD/WRGSBASE: CR4.FSGSBASE, canonical writes, 32-bit forms") {
  CHECK(ud(run64(" rdfsbase rax\n")));  // CR4.FSGSBASE = 0
  Snippet r = run64(set_cr4_bits(cr4::FSGSBASE) +
                    " mov rax, 0x123456789a\n wrfsbase rax\n rdfsbase rbx\n"
                    " mov rax, 0xffffffff87654321\n wrgsbase eax\n rdgsbase rcx\n"
                    " mov rdx, -1\n rdfsbase edx\n");
  REQUIRE(ok(r));
  CHECK(r.m->cpu.s.seg[FS].base == 0x123456789aull);
  CHECK(r.m->cpu.s.gpr[RBX] == 0x123456789aull);
  CHECK(r.m->cpu.s.seg[GS].base == 0x87654321ull);  // zero-extended
  CHECK(r.m->cpu.s.gpr[RCX] == 0x87654321ull);
  CHECK(r.m->cpu.s.gpr[RDX] == 0x3456789aull);      // low half, zero-extended
  CHECK(gp0(run64(set_cr4_bits(cr4::FSGSBASE) + " mov rax, 0x0000800000000000\n wrgsbase rax\n")));
  // Without the feature the CR4 bit is reserved and the instructions #UD.
  CHECK(gp0(run64(set_cr4_bits(cr4::FSGSBASE), "intel,-fsgsbase")));
  CHECK(ud(run64(" rdgsbase rax\n", "intel,-fsgsbase")));
  // #UD outside 64-bit mode even with CR4.FSGSBASE.
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.load(stubs(64) + set_cr4_bits(cr4::FSGSBASE) + " push 0x40\n push compat\n retfq\nbits 32\ncompat: db 0xf3, 0x0f, 0xae, 0xc0 ; rdfsbase eax\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.vector() == vec::UD);
}

TEST_CASE("RDPID reads IA32_TSC_AUX; TSC_AUX rejects bits 63:32") {
  Snippet r = run64(wrmsr(0xc0000103, 0x1234) + " mov rax, -1\n rdpid rax\n");
  REQUIRE(ok(r));
  CHECK(r.m->cpu.s.gpr[RAX] == 0x1234);
  CHECK(gp0(run64(wrmsr(0xc0000103, 0x100000000ull))));
  CHECK(ud(run64(" rdpid rax\n", "intel,-rdpid")));
  // Without RDTSCP and RDPID there is no IA32_TSC_AUX.
  CHECK(gp0(run64(" mov ecx, 0xc0000103\n rdmsr\n", "intel,-rdpid,-rdtscp")));
}

TEST_CASE("RDRAND/RDSEED: CF = 1 and other status flags 0, deterministic, varying, sized") {
  const std::string code =
      " mov rax, 0x8d5\n push rax\n popfq\n rdrand rax\n pushfq\n pop r8\n rdrand rbx\n rdseed rcx\n"
      " mov rdx, -1\n rdrand dx\n mov rsi, -1\n rdseed esi\n";
  Snippet a = run64(code), b = run64(code);
  REQUIRE(ok(a));
  REQUIRE(ok(b));
  const CpuState& s = a.m->cpu.s;
  CHECK((s.gpr[R8] & fl::ARITH) == fl::CF);
  CHECK(s.gpr[RAX] != s.gpr[RBX]);
  CHECK(s.gpr[RBX] != s.gpr[RCX]);
  CHECK((s.gpr[RDX] >> 16) == 0xffffffffffffull);  // a 16-bit destination keeps bits 63:16
  CHECK((s.gpr[RSI] >> 32) == 0);                   // a 32-bit one zero-extends
  for (int r : {RAX, RBX, RCX, RDX, RSI}) CHECK(s.gpr[r] == b.m->cpu.s.gpr[r]);
  CHECK(ud(run64(" rdrand rax\n", "intel,-rdrand")));
  CHECK(ud(run64(" rdseed rax\n", "intel,-rdseed")));
}

// ---------------------------------------------------------------------------
// CLFLUSH family, MONITOR/MWAIT, WBINVD/INVD
// ---------------------------------------------------------------------------

TEST_CASE("CLFLUSH/CLFLUSHOPT/CLWB are checked like a byte read") {
  for (const char* insn : {"clflush", "clflushopt", "clwb"}) {
    INFO(insn);
    CHECK(ok(run64(std::string(" ") + insn + " [0x200000]\n")));
    Snippet pf = run64(" mov rbx, 0x100000000\n " + std::string(insn) + " [rbx]\n");
    CHECK(pf.vector == vec::PF);
    CHECK(pf.error() == 0);  // not present, read, supervisor
    CHECK(pf.m->cpu.s.cr2 == 0x100000000ull);
    CHECK(gp0(run64(" mov rbx, 0x0000800000000000\n " + std::string(insn) + " [rbx]\n")));
  }
  CHECK(ud(run64(" clflush [0]\n", "intel,-clflush")));
  CHECK(ud(run64(" clwb [0]\n", "intel,-clwb")));
}

TEST_CASE("MONITOR/MWAIT: CPL 0, ECX rules, address checked like a read, IA32_MISC_ENABLE") {
  CHECK(ok(run64(" mov rax, 0x60200\n xor ecx, ecx\n xor edx, edx\n monitor\n mwait\n"
                 " mov ecx, 1\n mwait\n")));
  CHECK(gp0(run64(" mov rax, 0x60200\n mov ecx, 1\n monitor\n")));
  CHECK(gp0(run64(" mov ecx, 2\n mwait\n")));
  Snippet pf = run64(" mov rax, 0x100000000\n xor ecx, ecx\n monitor\n");
  CHECK(pf.vector == vec::PF);
  CHECK(pf.error() == 0);
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.load(stubs(64) + kToRing3 + " xor ecx, ecx\n mwait\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.vector() == vec::UD);
  // Intel: clearing IA32_MISC_ENABLE.ENABLE_MONITOR_FSM (bit 18) makes
  // them #UD and CPUID.01H:ECX.MONITOR read 0.
  const std::string clear_fsm = " mov ecx, 0x1a0\n rdmsr\n btr eax, 18\n wrmsr\n";
  CHECK(ud(run64(clear_fsm + " xor ecx, ecx\n mwait\n")));
  Snippet c = run64(clear_fsm + " mov eax, 1\n cpuid\n mov r8, rcx\n");
  REQUIRE(ok(c));
  CHECK(((c.m->cpu.s.gpr[R8] >> 3) & 1) == 0);
  Snippet c2 = run64(" mov eax, 1\n cpuid\n mov r8, rcx\n");
  CHECK(((c2.m->cpu.s.gpr[R8] >> 3) & 1) == 1);
}

TEST_CASE("WBINVD and INVD need CPL 0") {
  for (const char* insn : {"wbinvd\n", "invd\n"}) {
    CHECK(ok(run64(std::string(" ") + insn)));
    Machine m(FlatMode::Long64);
    m.long_mode_tables();
    m.load(stubs(64) + kToRing3 + insn);
    REQUIRE(m.run() == StopReason::Hlt);
    CHECK(m.vector() == vec::GP);
  }
}

// ---------------------------------------------------------------------------
// INVPCID, STAC/CLAC
// ---------------------------------------------------------------------------

TEST_CASE("INVPCID: #GP(0) for a bad type, reserved descriptor bits, non-canonical address, PCID without PCIDE, CPL 3") {
  auto desc = [](uint64_t pcid, uint64_t addr) {
    return " mov qword [0x60200], " + std::to_string(pcid) + "\n mov rax, " + std::to_string(addr) +
           "\n mov [0x60208], rax\n";
  };
  CHECK(ok(run64(desc(0, 0x1000) + " xor eax, eax\n invpcid rax, [0x60200]\n mov eax, 2\n"
                 " invpcid rax, [0x60200]\n mov eax, 3\n invpcid rax, [0x60200]\n")));
  CHECK(gp0(run64(desc(0, 0) + " mov eax, 4\n invpcid rax, [0x60200]\n")));
  CHECK(gp0(run64(desc(0x1000, 0) + " mov eax, 2\n invpcid rax, [0x60200]\n")));
  CHECK(gp0(run64(desc(0, 0x0000800000000000ull) + " xor eax, eax\n invpcid rax, [0x60200]\n")));
  CHECK(gp0(run64(desc(1, 0) + " mov eax, 1\n invpcid rax, [0x60200]\n")));   // CR4.PCIDE = 0
  CHECK(ok(run64(desc(1, 0) + set_cr4_bits(cr4::PCIDE) + " mov eax, 1\n invpcid rax, [0x60200]\n")));
  Snippet pf = run64(" mov rbx, 0x100000000\n xor eax, eax\n invpcid rax, [rbx]\n");
  CHECK(pf.vector == vec::PF);
  CHECK(ud(run64(" xor eax, eax\n invpcid rax, [0x60200]\n", "intel,-invpcid")));
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.load(stubs(64) + kToRing3 + " xor eax, eax\n invpcid rax, [0x60200]\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.vector() == vec::GP);
  CHECK(m.frame(0) == 0);
}

TEST_CASE("STAC/CLAC set and clear EFLAGS.AC at CPL 0; #UD at CPL 3 and without SMAP") {
  Snippet r = run64(" stac\n pushfq\n pop r8\n clac\n pushfq\n pop r9\n");
  REQUIRE(ok(r));
  CHECK((r.m->cpu.s.gpr[R8] & fl::AC) != 0);
  CHECK((r.m->cpu.s.gpr[R9] & fl::AC) == 0);
  CHECK(ud(run64(" stac\n", "intel,-smap")));
  Machine m(FlatMode::Long64);
  m.long_mode_tables();
  m.load(stubs(64) + kToRing3 + " clac\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.vector() == vec::UD);
}

// ---------------------------------------------------------------------------
// MSRs
// ---------------------------------------------------------------------------

namespace {
uint64_t rdmsr_value(const std::string& cpu, uint32_t index, const std::string& before = "") {
  Snippet r = run64(before + " mov ecx, " + std::to_string(index) + "\n rdmsr\n", cpu);
  INFO("rdmsr " << std::hex << index);
  REQUIRE(ok(r));
  return (r.m->cpu.s.gpr[RAX] & 0xffffffff) | (r.m->cpu.s.gpr[RDX] << 32);
}
bool wrmsr_faults(const std::string& cpu, uint32_t index, uint64_t v) {
  Snippet r = run64(wrmsr(index, v), cpu);
  INFO("wrmsr " << std::hex << index << " = " << v);
  REQUIRE((ok(r) || gp0(r)));
  return gp0(r);
}
}  // namespace

TEST_CASE("MTRRs: IA32_MTRRCAP read-only; DEF_TYPE, fixed and variable ranges reject reserved bits and types") {
  CHECK(rdmsr_value("intel", 0xfe) == 0x508);  // VCNT 8, FIX, WC
  CHECK(wrmsr_faults("intel", 0xfe, 0x508));
  CHECK(!wrmsr_faults("intel", 0x2ff, 0xc06));
  CHECK(rdmsr_value("intel", 0x2ff, wrmsr(0x2ff, 0xc06)) == 0xc06);
  CHECK(wrmsr_faults("intel", 0x2ff, 0xc02));   // type 2 is reserved
  CHECK(wrmsr_faults("intel", 0x2ff, 0x1006));  // bit 12 reserved
  CHECK(wrmsr_faults("intel", 0x2ff, 0x107));   // type 7 (UC-) is not an MTRR type
  CHECK(!wrmsr_faults("intel", 0x250, 0x0606060606060606ull));
  CHECK(rdmsr_value("intel", 0x26f, wrmsr(0x26f, 0x0001040506000106ull)) == 0x0001040506000106ull);
  CHECK(wrmsr_faults("intel", 0x258, 0x0606060606060607ull));
  CHECK(wrmsr_faults("intel", 0x268, 0x0306060606060606ull));
  CHECK(!wrmsr_faults("intel", 0x200, 0x80000006));
  CHECK(wrmsr_faults("intel", 0x200, 0x80000106));         // bits 11:8 reserved
  CHECK(wrmsr_faults("intel", 0x20e, 1ull << 40));         // at MAXPHYADDR (40)
  CHECK(!wrmsr_faults("intel", 0x201, 0xfff0000800ull));   // mask, valid
  CHECK(wrmsr_faults("intel", 0x201, 0xfff0000c00ull));    // bit 10 reserved
  CHECK(wrmsr_faults("intel", 0x210, 0));                  // only 8 variable pairs
  CHECK(wrmsr_faults("intel,-mtrr", 0x2ff, 0));
}

TEST_CASE("IA32_PAT: each entry must be a valid memory type") {
  CHECK(rdmsr_value("intel", 0x277) == 0x0007040600070406ull);  // power-on value
  CHECK(!wrmsr_faults("intel", 0x277, 0x0706050401000607ull));
  CHECK(wrmsr_faults("intel", 0x277, 0x0007040600070402ull));
  CHECK(wrmsr_faults("intel", 0x277, 0x0807040600070406ull));
  CHECK(wrmsr_faults("intel,-pat", 0x277, 0x0007040600070406ull));
}

TEST_CASE("machine check: a CPU with no errors; STATUS writable only with 0") {
  for (const char* cpu : {"intel", "amd"}) {
    INFO(cpu);
    CHECK(rdmsr_value(cpu, 0x179) == 0x104);   // 4 banks, MCG_CTL present
    CHECK(wrmsr_faults(cpu, 0x179, 0x104));
    CHECK(rdmsr_value(cpu, 0x17a) == 0);
    CHECK(!wrmsr_faults(cpu, 0x17a, 0x4));
    CHECK(wrmsr_faults(cpu, 0x17a, 0x8));      // LMCE_S is absent
    CHECK(rdmsr_value(cpu, 0x17b, wrmsr(0x17b, ~0ull)) == ~0ull);
    for (uint32_t bank = 0; bank < 4; ++bank) {
      const uint32_t base = 0x400 + 4 * bank;
      CHECK(rdmsr_value(cpu, base, wrmsr(base, ~0ull)) == ~0ull);  // MCi_CTL
      CHECK(rdmsr_value(cpu, base + 1) == 0);                      // STATUS: no error
      CHECK(rdmsr_value(cpu, base + 2) == 0);                      // ADDR
      CHECK(rdmsr_value(cpu, base + 3) == 0);                      // MISC
      CHECK(!wrmsr_faults(cpu, base + 1, 0));
      CHECK(wrmsr_faults(cpu, base + 1, 1));
    }
    CHECK(wrmsr_faults(cpu, 0x410, 0));  // bank 4 does not exist
  }
}

TEST_CASE("TSC and IA32_TSC_ADJUST move together (SDM 17.17.3); AMD has no TSC_ADJUST") {
  // Writing TSC_ADJUST by +2^32 moves the TSC by 2^32.
  Snippet r = run64(" rdtsc\n mov r8d, eax\n mov r9d, edx\n" + wrmsr(0x3b, 0x100000000ull) +
                    " rdtsc\n mov r10d, eax\n mov r11d, edx\n");
  REQUIRE(ok(r));
  const CpuState& s = r.m->cpu.s;
  const uint64_t t0 = s.gpr[R8] | (s.gpr[R9] << 32), t1 = s.gpr[R10] | (s.gpr[R11] << 32);
  CHECK(t1 - t0 >= 0x100000000ull);
  CHECK(t1 - t0 < 0x100000000ull + 10);
  // Writing the TSC moves TSC_ADJUST by the same amount.
  Snippet w = run64(wrmsr(0x10, 1000000) + " rdtsc\n mov r8d, eax\n mov ecx, 0x3b\n rdmsr\n mov r9d, eax\n mov r10d, edx\n");
  REQUIRE(ok(w));
  CHECK(w.m->cpu.s.gpr[R8] >= 1000000);
  CHECK(w.m->cpu.s.gpr[R8] < 1000000 + 5);
  const uint64_t adjust = w.m->cpu.s.gpr[R9] | (w.m->cpu.s.gpr[R10] << 32);
  CHECK(adjust <= 1000000);
  CHECK(adjust > 1000000 - 30);  // 1000000 minus the TSC at the write (a few instructions)
  CHECK(wrmsr_faults("amd", 0x3b, 0));
  CHECK(!wrmsr_faults("amd", 0x10, 5));
}

TEST_CASE("IA32_MISC_ENABLE (Intel): power-on value, read-only and reserved bits; #GP on AMD") {
  CHECK(rdmsr_value("intel", 0x1a0) == 0x41801);
  CHECK(!wrmsr_faults("intel", 0x1a0, 0x41801));
  CHECK(!wrmsr_faults("intel", 0x1a0, 0x41808 | 0x1801));
  CHECK(wrmsr_faults("intel", 0x1a0, 0x41001));  // BTS unavailable (11) is read-only
  CHECK(wrmsr_faults("intel", 0x1a0, 0x41803));  // bit 1 reserved
  CHECK(wrmsr_faults("amd", 0x1a0, 0));
  CHECK(wrmsr_faults("amd", 0x3a, 0));  // IA32_FEATURE_CONTROL is Intel's as well
  CHECK(!wrmsr_faults("intel", 0x3a, 0));
  Snippet r = run64(" mov ecx, 0x1a0\n rdmsr\n", "amd");
  CHECK(gp0(r));
  // LIMIT_CPUID_MAXVAL (22): CPUID.0:EAX reads 2. XD disable (34): NX reads 0.
  Snippet c = run64(wrmsr(0x1a0, 0x441801 | (1ull << 34)) + wrmsr(0xc0000080, 0x501) +
                    " xor eax, eax\n cpuid\n mov r8, rax\n mov eax, 0x80000001\n cpuid\n mov r9, rdx\n");
  REQUIRE(ok(c));
  CHECK(c.m->cpu.s.gpr[R8] == 2);
  CHECK(((c.m->cpu.s.gpr[R9] >> 20) & 1) == 0);
  CHECK(gp0(run64(wrmsr(0x1a0, 0x41801 | (1ull << 34)) + wrmsr(0xc0000080, 0xd01))));  // NXE now reserved
}

TEST_CASE("EFER: SCE, LME, NXE and SVME exist only with their features; the rest are reserved") {
  CHECK(!wrmsr_faults("intel", 0xc0000080, 0xd01));
  CHECK(wrmsr_faults("intel,-nx", 0xc0000080, 0xd01));
  CHECK(!wrmsr_faults("intel,-nx", 0xc0000080, 0x501));
  CHECK(wrmsr_faults("intel,-syscall", 0xc0000080, 0xd01));
  CHECK(!wrmsr_faults("intel,-syscall", 0xc0000080, 0xd00));
  for (uint64_t bit : {13u, 14u, 15u, 1u, 9u}) {
    INFO("bit " << bit);
    CHECK(wrmsr_faults("amd", 0xc0000080, 0xd01 | (1ull << bit)));
  }
  // SVME (bit 12) with SVM only (APM Vol. 2 15.4; svm/features.h).
  CHECK(!wrmsr_faults("amd", 0xc0000080, 0xd01 | (1ull << 12)));
  CHECK(wrmsr_faults("amd,-svm", 0xc0000080, 0xd01 | (1ull << 12)));
  CHECK(wrmsr_faults("intel", 0xc0000080, 0xd01 | (1ull << 12)));
}

TEST_CASE("MOV CR4: a bit of a feature the model lacks is #GP(0), table-driven") {
  // All pages supervisor-only (PML4E 0 without U/S), so SMAP does not stop
  // the snippet's own data accesses.
  auto all_supervisor = [](Machine& m) { m.put64(0x1000, m.get64(0x1000) & ~uint64_t(4)); };
  CHECK(ok(run64(set_cr4_bits(cr4::SMEP | cr4::SMAP | cr4::UMIP | cr4::FSGSBASE | cr4::OSXSAVE | cr4::PGE),
                 "intel", all_supervisor)));
  for (uint64_t bit : {cr4::VME, cr4::PVI, cr4::SMXE, cr4::PKE}) {
    INFO(std::hex << bit);
    CHECK(gp0(run64(set_cr4_bits(bit))));
  }
  // VMXE follows VMX: the intel model has it (issue 4), without it or on
  // the AMD model the bit is reserved.
  CHECK(ok(run64(set_cr4_bits(cr4::VMXE))));
  CHECK(gp0(run64(set_cr4_bits(cr4::VMXE), "intel,-vmx")));
  CHECK(gp0(run64(set_cr4_bits(cr4::VMXE), "amd")));
  CHECK(gp0(run64(set_cr4_bits(cr4::SMEP), "intel,-smep")));
  CHECK(gp0(run64(set_cr4_bits(cr4::UMIP), "amd,-umip")));
  CHECK(gp0(run64(set_cr4_bits(cr4::OSXSAVE), "intel,-xsave")));
  CHECK(gp0(run64(set_cr4_bits(cr4::PGE), "intel,-pge")));
}

TEST_CASE("CPUID reflects the current state: OSXSAVE, the APIC enable, leaf above the maximum") {
  Snippet a = run64(" mov eax, 1\n cpuid\n mov r8, rcx\n mov r9, rdx\n" + set_cr4_bits(cr4::OSXSAVE) +
                    " mov eax, 1\n cpuid\n mov r10, rcx\n" + wrmsr(0x1b, 0xfee00100) +
                    " mov eax, 1\n cpuid\n mov r11, rdx\n");
  REQUIRE(ok(a));
  const CpuState& s = a.m->cpu.s;
  CHECK(((s.gpr[R8] >> 27) & 1) == 0);
  CHECK(((s.gpr[R10] >> 27) & 1) == 1);
  CHECK(((s.gpr[R9] >> 9) & 1) == 1);
  CHECK(((s.gpr[R11] >> 9) & 1) == 0);  // IA32_APIC_BASE.EN = 0
}

// ---------------------------------------------------------------------------
// Paging: UMIP, SMAP, SMEP, CR0.WP, PCID, global pages, INVLPG, 1-GiB pages
// ---------------------------------------------------------------------------

TEST_CASE("UMIP: SGDT, SIDT, SLDT, SMSW and STR are #GP(0) at CPL 3") {
  for (const char* insn : {"sgdt [0x60200]\n", "sidt [0x60200]\n", "sldt ax\n", "smsw ax\n", "str ax\n"}) {
    INFO(insn);
    for (bool umip : {false, true}) {
      Machine m(FlatMode::Long64);
      m.long_mode_tables();
      m.load(stubs(64) + (umip ? set_cr4_bits(cr4::UMIP) : "") + kToRing3 + insn + kDone + " hlt\n");
      REQUIRE(m.run() == StopReason::Hlt);
      CHECK(m.vector() == vec::GP);  // the final HLT at CPL 3, or the instruction
      CHECK(m.get32(0x60140) == (umip ? 0u : DONE));
      CHECK(m.frame(0) == 0);
    }
  }
  // CPL 0 is unaffected.
  CHECK(ok(run64(set_cr4_bits(cr4::UMIP) + " sgdt [0x60200]\n smsw ax\n str ax\n")));
}

namespace {
// Makes the first 2 MiB supervisor-only (PDE 0 without U/S); 2-4 MiB stays
// a user page.
void supervisor_low(Machine& m) { m.put64(0x3000, m.get64(0x3000) & ~uint64_t(4)); }
}  // namespace

TEST_CASE("SMAP: explicit supervisor data accesses to user pages need EFLAGS.AC") {
  Snippet r = run64(set_cr4_bits(cr4::SMAP) + " mov al, [0x200000]\n", "intel", supervisor_low);
  CHECK(r.vector == vec::PF);
  CHECK(r.error() == pf::P);
  CHECK(r.m->cpu.s.cr2 == 0x200000);
  Snippet w = run64(set_cr4_bits(cr4::SMAP) + " stac\n mov al, [0x200000]\n clac\n mov byte [0x200000], 1\n",
                    "intel", supervisor_low);
  CHECK(w.vector == vec::PF);
  CHECK(w.error() == (pf::P | pf::W));
  CHECK(ok(run64(set_cr4_bits(cr4::SMAP) + " stac\n mov al, [0x200000]\n mov byte [0x200001], 1\n", "intel",
                 supervisor_low)));
}

TEST_CASE("SMAP: implicit supervisor accesses (an LDT on a user page) fault even with EFLAGS.AC = 1") {
  auto setup = [](Machine& m) {
    supervisor_low(m);
    // GDT 0x48: LDT at 0x200000, limit 0xff (16-byte system descriptor).
    m.put64(GDT + 0x48, seg_desc(0x200000, 0xff, 0x82, 0));
    m.put64(GDT + 0x50, 0);
    m.put64(0x200000, seg_desc(0, 0xfffff, 0x93, 0xc));  // LDT entry 0: data DPL 0
  };
  const std::string load_ldt_data = " mov ax, 0x48\n lldt ax\n stac\n mov ax, 0x04\n mov es, ax\n";
  CHECK(ok(run64(load_ldt_data, "intel", setup)));
  Snippet r = run64(set_cr4_bits(cr4::SMAP) + load_ldt_data, "intel", setup);
  CHECK(r.vector == vec::PF);
  CHECK(r.error() == pf::P);
  CHECK(r.m->cpu.s.cr2 == 0x200000);
}

TEST_CASE("SMEP: a supervisor fetch from a user page is #PF(P|I/D)") {
  auto setup = [](Machine& m) {
    supervisor_low(m);
    m.mem.ram()[0x200000] = 0xf4;  // HLT
  };
  Snippet off = run64(" mov rax, 0x200000\n jmp rax\n", "intel", setup);
  CHECK(off.vector == NO_VECTOR);
  CHECK(off.m->cpu.s.rip == 0x200001);
  Snippet on = run64(set_cr4_bits(cr4::SMEP) + " mov rax, 0x200000\n jmp rax\n", "intel", setup);
  CHECK(on.vector == vec::PF);
  CHECK(on.error() == (pf::P | pf::ID));
  CHECK(on.m->cpu.s.cr2 == 0x200000);
}

TEST_CASE("CR0.WP: supervisor writes to read-only pages fault only with WP = 1") {
  auto setup = [](Machine& m) { m.put64(0x3008, m.get64(0x3008) & ~uint64_t(2)); };
  Snippet wp = run64(" mov byte [0x200000], 1\n", "intel", setup);
  CHECK(wp.vector == vec::PF);
  CHECK(wp.error() == (pf::P | pf::W));
  Snippet nowp = run64(" mov rax, cr0\n btr rax, 16\n mov cr0, rax\n mov byte [0x200000], 1\n", "intel", setup);
  CHECK(ok(nowp));
  CHECK(nowp.m->mem.ram()[0x200000] == 1);
}

TEST_CASE("PCID: CR3 bit 63 is a no-flush hint with CR4.PCIDE, reserved without; PCIDE needs CR3[11:0] = 0") {
  Snippet r = run64(set_cr4_bits(cr4::PCIDE) + " mov rax, cr3\n or rax, 5\n mov cr3, rax\n bts rax, 63\n"
                    " mov cr3, rax\n mov r8, cr3\n mov rax, 0x1100\n mov [0x1100], rax\n");
  REQUIRE(ok(r));
  CHECK(r.m->cpu.s.gpr[R8] == 0x1005);
  CHECK(gp0(run64(" mov rax, 0x8000000000001000\n mov cr3, rax\n")));
  CHECK(gp0(run64(" mov rax, 0x1008\n mov cr3, rax\n" + set_cr4_bits(cr4::PCIDE))));
  CHECK(gp0(run64(set_cr4_bits(cr4::PCIDE), "intel,-pcid")));
}

namespace {
// PDE 1 (linear 2-4 MiB) is changed from physical 2 MiB to 4 MiB by the
// snippet; distinct bytes at both let the test see which one is mapped.
void two_mappings(Machine& m) {
  m.put64(0x200000, 0x11);
  m.put64(0x201000, 0x33);
  m.put64(0x400000, 0x22);
  m.put64(0x401000, 0x44);
}
const char* kRemap = " mov rax, 0x400087\n or rax, rbx\n mov [0x3008], rax\n";  // RBX: extra PDE bits
}  // namespace

TEST_CASE("INVLPG and INVPCID drop every cached piece of a 2-MiB page") {
  for (const char* inval : {" invlpg [0x200000]\n",
                            " mov qword [0x60200], 0\n mov qword [0x60208], 0x200000\n xor eax, eax\n"
                            " invpcid rax, [0x60200]\n"}) {
    INFO(inval);
    Snippet r = run64(" xor ebx, ebx\n mov al, [0x200000]\n mov al, [0x201000]\n" + std::string(kRemap) + inval +
                          " mov r8b, [0x201000]\n mov r9b, [0x200000]\n",
                      "intel", two_mappings);
    REQUIRE(ok(r));
    CHECK((r.m->cpu.s.gpr[R8] & 0xff) == 0x44);
    CHECK((r.m->cpu.s.gpr[R9] & 0xff) == 0x22);
  }
}

TEST_CASE("Global pages: MOV CR3 may keep them; clearing CR4.PGE drops them") {
  Snippet r = run64(set_cr4_bits(cr4::PGE) + " mov rbx, 0x100\n mov rax, 0x200187\n mov [0x3008], rax\n"
                    " mov rax, cr3\n mov cr3, rax\n mov al, [0x201000]\n" + kRemap +
                    " mov rax, cr4\n btr rax, 7\n mov cr4, rax\n mov r8b, [0x201000]\n",
                    "intel", two_mappings);
  REQUIRE(ok(r));
  CHECK((r.m->cpu.s.gpr[R8] & 0xff) == 0x44);
}

TEST_CASE("1-GiB pages exist only with pdpe1gb: otherwise PDPTE bit 7 is reserved") {
  auto setup = [](Machine& m) { m.put64(0x2000 + 8 * 4, 0x100000000ull | 0x83); };
  CHECK(ok(run64(" mov rbx, 0x100000000\n mov al, [rbx]\n", "intel", setup)));
  Snippet r = run64(" mov rbx, 0x100000000\n mov al, [rbx]\n", "intel,-pdpe1gb", setup);
  CHECK(r.vector == vec::PF);
  CHECK(r.error() == (pf::P | pf::RSVD));
}

TEST_CASE("SYSRET without REX.W returns to compatibility mode at ECX with CS = STAR[63:48] | 3") {
  for (const char* cpu : {"intel", "amd"}) {
    INFO(cpu);
    Machine m(FlatMode::Long64, cpu);
    m.long_mode_tables();
    m.load(stubs(64) + syscall_msrs() + " mov rcx, 0xffffffff00000000 + compat\n mov r11, 0x202\n sysret\n"
           "kernel: hlt\nbits 32\ncompat: jmp $\n");
    CHECK(m.run(100) == StopReason::Limit);
    CHECK(m.vector() == NO_VECTOR);
    CHECK(m.cpu.s.mode == Mode::Compat32);
    CHECK(m.cpu.s.seg[CS].sel == 0x1b);
    CHECK(m.cpu.s.seg[SS].sel == 0x23);
    CHECK((m.cpu.s.rip >> 32) == 0);  // RIP = ECX, zero-extended
    CHECK(m.mem.ram()[m.cpu.s.rip] == 0xeb);
    CHECK(m.cpu.s.rflags == 0x202);
  }
}

TEST_CASE("SYSENTER/SYSEXIT in legacy protected mode on both vendors") {
  for (const char* cpu : {"intel", "amd"}) {
    INFO(cpu);
    Machine m(FlatMode::Prot32, cpu);
    m.prot32_tables();
    m.cpu.s.sysenter_cs = 0x08;
    m.cpu.s.sysenter_esp = 0x3f000;
    m.load(stubs(32) + " mov ecx, 0x176\n mov eax, entry\n xor edx, edx\n wrmsr\n"
           " mov ecx, 0x2f000\n mov edx, user\n sysexit\n"
           "user:\n mov [0x60100], cs\n mov [0x60108], ss\n mov [0x60110], esp\n sysenter\n"
           "entry:\n mov [0x60118], cs\n mov [0x60120], ss\n mov [0x60128], esp\n jmp $\n");
    CHECK(m.run(100) == StopReason::Limit);
    CHECK(m.vector() == NO_VECTOR);
    CHECK((m.get32(0x60100) & 0xffff) == 0x1b);  // SYSENTER_CS + 16 | 3
    CHECK((m.get32(0x60108) & 0xffff) == 0x23);  // SYSENTER_CS + 24 | 3
    CHECK(m.get32(0x60110) == 0x2f000);          // ESP = ECX
    CHECK((m.get32(0x60118) & 0xffff) == 0x08);
    CHECK((m.get32(0x60120) & 0xffff) == 0x10);
    CHECK(m.get32(0x60128) == 0x3f000);          // IA32_SYSENTER_ESP
    CHECK(m.cpu.s.mode == Mode::Prot32);
    CHECK(m.cpu.s.cpl == 0);
  }
}

TEST_CASE("32-bit paging 4-MiB pages: PSE-36 address bits, reserved bits without PSE-36") {
  // Protected mode, 32-bit paging with CR4.PSE: the PDE for 0x400000 maps a
  // 4-MiB page with bit 13 set (physical-address bit 32 under PSE-36).
  auto snippet = [](const std::string& cpu) {
    auto m = std::make_unique<Machine>(FlatMode::Prot32, cpu);
    m->prot32_tables();
    for (uint32_t i = 0; i < 1024; ++i) m->put32(0x70000 + 4 * i, 0);
    m->put32(0x70000, 0x83);               // 0-4 MiB identity, 4-MiB page
    m->put32(0x70004, 0x400083 | 0x2000);  // 4-8 MiB -> 0x1_0040_0000
    m->load(stubs(32) + " mov eax, 0x70000\n mov cr3, eax\n mov eax, cr4\n or eax, 0x10\n mov cr4, eax\n"
            " mov eax, cr0\n or eax, 0x80000000\n mov cr0, eax\n mov al, [0x400000]\n" + kDone + " hlt\n");
    REQUIRE(m->run() == StopReason::Hlt);
    return m;
  };
  auto with = snippet("intel");
  CHECK(with->vector() == NO_VECTOR);
  CHECK(with->get32(0x60140) == DONE);
  auto without = snippet("intel,-pse36");
  CHECK(without->vector() == vec::PF);
  CHECK(uint32_t(without->frame(0)) == (pf::P | pf::RSVD));  // 32-bit error code
}
