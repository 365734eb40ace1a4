// SVM guest mode (svm/guest_entry.cpp, svm/intercepts.cpp,
// svm/guest_events.cpp, svm/vmexit.cpp): a VMRUN that passes its checks
// runs the guest; #VMEXIT saves the guest state and the exit information
// and returns to the host (AMD APM Vol. 2 15.5 - 15.21). Physical INTR and
// NMI (which the flat runner's kernels cannot raise), the host's TF across
// VMRUN, the TLB context and NP_ENABLE are tested on a Cpu directly; every
// kind of instruction intercept, exceptions, EVENTINJ, virtual interrupts,
// the TSC offset and the TLB_CONTROL flush types by the L1 test kernel
// tests/guest/svm_guest_long64.asm.
#include <catch.hpp>

#include "tests/unit/flat_run_support.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "emu/block_cache.h"
#include "emu/cpu.h"
#include "emu/cpu_features.h"
#include "emu/cpu_model.h"
#include "emu/loader/flat.h"
#include "svm/controls.h"
#include "svm/guest_tlb.h"
#include "svm/vmcb.h"
#include "tests/unit/cli_support.h"
#include "tests/unit/nasm_support.h"

using namespace softvt;
using namespace softvt::svm;

namespace {
using softvt::test::env_path;
using softvt::test::json_value;

constexpr uint64_t LOAD = 0x10000;
constexpr uint64_t VMCB = 0x200000, HSAVE = 0x202000, GUEST_RIP = 0x30000, GUEST_IDT = 0x31000;

const CpuModel& amd() { return *find_cpu_model("amd"); }

struct Recorder : Cpu::Tracer {
  std::vector<int> vectors;
  std::vector<std::string> notes;
  void insn(const Cpu&, uint64_t, uint64_t, const uint8_t*, unsigned) override {}
  void exception(const Cpu&, const GuestException& e) override { vectors.push_back(e.vector); }
  void note(const Cpu&, const std::string& n) override { notes.push_back(n); }
};

struct Source : Cpu::InterruptSource {
  int acks = 0;
  uint8_t vector = 0x40;
  uint8_t intr_acknowledge() override {
    ++acks;
    return vector;
  }
};

// The host: "mov rax, VMCB; vmrun; hlt" on the flat long64 machine with
// EFER.SVME and VM_HSAVE_PA set; the guest: a 64-bit VMCB on the same page
// tables at GUEST_RIP with `guest` there.
struct Machine {
  Memory mem{64 << 20};
  CpuModel model = amd();
  Cpu cpu{mem, model};
  BlockCache blocks{model};
  Recorder rec;
  Source source;

  explicit Machine(const std::string& guest) {
    cpu.s = setup_flat(mem, test::assemble_nasm("bits 64\nmov rax, " + std::to_string(VMCB) + "\nvmrun\nhlt\n"),
                       LOAD, FlatMode::Long64);
    cpu.blocks = &blocks;
    cpu.tracer = &rec;
    cpu.intr_source = &source;
    cpu.s.efer |= efer::SVME;
    cpu.svm.hsave_pa = HSAVE;
    cpu.update_mode();
    cpu.refresh_tlb_space();
    const std::vector<uint8_t> code = test::assemble_nasm("bits 64\n" + guest);
    for (size_t i = 0; i < code.size(); ++i) mem.write_phys(GUEST_RIP + i, 1, code[i]);
    write_vmcb();
  }
  uint64_t q(uint32_t off) { return mem.read_phys(VMCB + off, 8); }
  void put(uint32_t off, unsigned size, uint64_t v) { mem.write_phys(VMCB + off, size, v); }

  void write_vmcb() {
    for (uint64_t i = 0; i < 4096; i += 8) mem.write_phys(VMCB + i, 8, 0);
    put(vmcb::INTERCEPT_MISC2, 4, misc2::VMRUN);
    put(vmcb::INTERCEPT_MISC1, 4, misc1::HLT);
    put(vmcb::IOPM_BASE_PA, 8, 0x300000);
    put(vmcb::MSRPM_BASE_PA, 8, 0x304000);
    put(vmcb::GUEST_ASID, 4, 7);
    put(vmcb::CS + vmcb::SEG_SEL, 2, 0x08);
    put(vmcb::CS + vmcb::SEG_ATTRIB, 2, 0x29b);
    put(vmcb::CS + vmcb::SEG_LIMIT, 4, 0xffffffff);
    for (uint32_t seg : {vmcb::ES, vmcb::SS, vmcb::DS}) {
      put(seg + vmcb::SEG_SEL, 2, 0x10);
      put(seg + vmcb::SEG_ATTRIB, 2, 0x093);
      put(seg + vmcb::SEG_LIMIT, 4, 0xffffffff);
    }
    put(vmcb::GDTR + vmcb::SEG_LIMIT, 4, cpu.s.gdtr.limit);
    put(vmcb::GDTR + vmcb::SEG_BASE, 8, cpu.s.gdtr.base);
    put(vmcb::IDTR + vmcb::SEG_LIMIT, 4, 0xfff);
    put(vmcb::IDTR + vmcb::SEG_BASE, 8, GUEST_IDT);
    put(vmcb::EFER, 8, cpu.s.efer);
    put(vmcb::CR0, 8, cpu.s.cr0);
    put(vmcb::CR3, 8, cpu.s.cr3);
    put(vmcb::CR4, 8, cpu.s.cr4);
    put(vmcb::DR6, 8, 0xffff0ff0);
    put(vmcb::DR7, 8, 0x400);
    put(vmcb::RFLAGS, 8, 0x202);
    put(vmcb::RIP, 8, GUEST_RIP);
    put(vmcb::RSP, 8, 0x38000);
  }
  // A 64-bit interrupt gate in the guest's IDT to `handler`.
  void guest_gate(uint8_t vector, uint64_t handler) {
    const uint64_t at = GUEST_IDT + uint64_t(vector) * 16;
    mem.write_phys(at, 8, (handler & 0xffff) | (0x08ull << 16) | (0x8e00ull << 32) | ((handler >> 16) << 48));
    mem.write_phys(at + 8, 8, handler >> 32);
  }
};

// The host's instruction after VMRUN.
uint64_t after_vmrun() {
  return LOAD + test::assemble_nasm("bits 64\nmov rax, " + std::to_string(VMCB) + "\nvmrun\n").size();
}

}  // namespace

TEST_CASE("VMRUN runs the guest; an intercepted HLT is #VMEXIT(HLT) with the guest state saved", "[svm]") {
  Machine m("nop\nhlt\n");
  // Non-canonical segment bases are canonicalised, not a failure (APM 15.5.1).
  m.put(vmcb::DS + vmcb::SEG_BASE, 8, 0x0000900000000000ull);
  m.put(vmcb::EVENTINJ, 8, 0);
  REQUIRE(m.cpu.run(100) == StopReason::Hlt);
  CHECK(m.cpu.s.rip == after_vmrun() + 1);  // the host's HLT retired
  CHECK(m.q(vmcb::EXITCODE) == exit_code::HLT);
  CHECK(m.q(vmcb::EXITINFO1) == 0);
  CHECK(m.q(vmcb::EXITINFO2) == 0);
  CHECK(m.q(vmcb::EXITINTINFO) == 0);
  CHECK(m.q(vmcb::RIP) == GUEST_RIP + 1);   // the HLT
  CHECK(m.q(vmcb::NRIP) == GUEST_RIP + 2);  // NRIP save
  CHECK(m.q(vmcb::RAX) == 0);               // the guest's RAX (VMCB: 0)
  CHECK(m.q(vmcb::RFLAGS) == 0x202);
  CHECK(m.q(vmcb::DS + vmcb::SEG_BASE) == 0xffff900000000000ull);
  CHECK((m.q(vmcb::INTERRUPT_SHADOW) & 3) == int_state::GUEST_IF);
  // The host is back: RAX, RSP, CPL 0, GIF = 0, not in guest mode, TLB
  // context 0.
  CHECK(m.cpu.s.gpr[RAX] == VMCB);
  CHECK(m.cpu.s.gpr[RSP] == LOAD);
  CHECK(!m.cpu.svm.guest_mode);
  CHECK(!m.cpu.svm.gif);
  CHECK((m.cpu.tlb_space() >> tlb_space::CONTEXT_SHIFT) == 0);
}

TEST_CASE("the guest's translations live in the TLB context of its ASID", "[svm]") {
  Machine m("hlt\n");
  m.put(vmcb::INTERCEPT_MISC1, 4, 0);  // the guest's HLT stops the run in the guest
  REQUIRE(m.cpu.run(100) == StopReason::Hlt);
  CHECK(m.cpu.svm.guest_mode);
  CHECK((m.cpu.tlb_space() >> tlb_space::CONTEXT_SHIFT) == 7);
}

namespace {
// Nested tables at 400000H: gPA 0-4G identity in 1-Gbyte pages.
constexpr uint64_t NPML4 = 0x400000, NPDPT = 0x401000;
void identity_nested_tables(Machine& m) {
  m.mem.write_phys(NPML4, 8, NPDPT | 7);
  for (uint64_t i = 0; i < 4; ++i) m.mem.write_phys(NPDPT + 8 * i, 8, (i << 30) | 0x87);
}
}  // namespace

TEST_CASE("NP_ENABLE = 1: the guest runs through N_CR3, its context tagged with the nested root", "[svm]") {
  Machine m("hlt\n");
  identity_nested_tables(m);
  m.put(vmcb::INTERCEPT_MISC1, 4, 0);  // the guest's HLT stops the run in the guest
  m.put(vmcb::NP_CONTROL, 8, NP_ENABLE);
  m.put(vmcb::N_CR3, 8, NPML4);
  REQUIRE(m.cpu.run(100) == StopReason::Hlt);
  CHECK(m.cpu.svm.guest_mode);
  CHECK(m.cpu.nested_paging == &m.cpu.svm.npt);
  // ASID 7 in bits 15:0 of the context, nested-root tag 1 in 19:16.
  CHECK(svm_context::asid_of(m.cpu.tlb_space()) == 7);
  CHECK(svm_context::npt_tag_of(m.cpu.tlb_space()) == 1);
  // The walk went through the nested tables: their accessed bits.
  CHECK(m.mem.read_phys(NPML4, 8) == (NPDPT | 0x27));
  // INVLPGA drops the page in every nested-root tag of the ASID, and only
  // of that ASID. The guest maps 2-MiB pages (the flat tables), so entries
  // made for other 4-KiB pieces of GUEST_RIP's page (in other slots of the
  // direct-mapped TLB) map it too: cache one in ASID 7 under tag 2 and one
  // in ASID 8.
  const auto cached = [&](uint32_t asid) {
    int n = 0;
    for (const TlbEntry& e : m.cpu.tlb)
      if (e.tag && svm_context::asid_of(e.space) == asid && Cpu::tlb_entry_maps_page(e, GUEST_RIP)) ++n;
    return n;
  };
  REQUIRE(cached(7) == 1);
  m.cpu.set_tlb_context(7 | (2u << svm_context::NPT_TAG_SHIFT));
  m.cpu.translate(GUEST_RIP + 0x1000, Acc::Read, false);
  m.cpu.set_tlb_context(8 | (1u << svm_context::NPT_TAG_SHIFT));
  m.cpu.translate(GUEST_RIP + 0x2000, Acc::Read, false);
  REQUIRE(cached(7) == 2);
  REQUIRE(cached(8) == 1);
  invalidate_asid_page(m.cpu, 7, GUEST_RIP);
  CHECK(cached(7) == 0);
  CHECK(cached(8) == 1);
  CHECK(svm_context::asid_of(m.cpu.tlb_space()) == 8);
}

TEST_CASE("NP_ENABLE = 1 on a model without nested paging (amd,-npt) is ignored", "[svm]") {
  Machine m("hlt\n");
  set_model_feature(m.model, *find_cpu_feature("npt"), false);
  m.put(vmcb::INTERCEPT_MISC1, 4, 0);
  m.put(vmcb::NP_CONTROL, 8, NP_ENABLE);
  m.put(vmcb::N_CR3, 8, 1ull << 63);  // would fail n_cr3_mbz with nested paging
  m.put(vmcb::G_PAT, 8, 2);           // and g_pat_illegal
  REQUIRE(m.cpu.run(100) == StopReason::Hlt);
  CHECK(m.cpu.svm.failed_check == nullptr);
  CHECK(m.cpu.svm.guest_mode);
  CHECK(m.cpu.nested_paging == nullptr);
  CHECK(svm_context::npt_tag_of(m.cpu.tlb_space()) == 0);
}

TEST_CASE("NP_ENABLE = 1 with a host in legacy 32-bit paging: 2-level nested tables with its CR4.PSE", "[svm]") {
  Machine m("hlt\n");
  m.put(vmcb::NP_CONTROL, 8, NP_ENABLE);
  // Nested tables in the 32-bit format (APM 15.25.3): a page directory at
  // 8000H mapping gPA 0-8 MiB with two 4-Mbyte pages (the host's CR4.PSE).
  m.mem.write_phys(0x8000, 4, 0x87);
  m.mem.write_phys(0x8004, 4, 0x400087);
  m.put(vmcb::N_CR3, 8, 0x8000);
  // The host: 32-bit protected mode with 32-bit paging (a page directory
  // at 7000H mapping the first 4 MiB with a 4-MiB page; CS = the flat
  // GDT's 32-bit code segment).
  m.mem.write_phys(0x7000, 4, 0x87);
  CpuState& s = m.cpu.s;
  s.efer &= ~(efer::LME | efer::LMA);
  s.cr4 = (s.cr4 & ~cr4::PAE) | cr4::PSE;
  s.cr3 = 0x7000;
  s.seg[CS].sel = 0x18;
  s.seg[CS].attr = 0xc09b;
  m.cpu.update_mode();
  m.cpu.flush_tlb();
  REQUIRE(m.cpu.run(100) == StopReason::Hlt);
  CHECK(m.q(vmcb::EXITCODE) == exit_code::HLT);
  CHECK(m.cpu.svm.npt.levels == 2);
  CHECK(m.cpu.svm.npt.pse);
  // The nested PDE's accessed and dirty bits (the guest's page-table
  // accesses are writes for the nested walk).
  CHECK(m.mem.read_phys(0x8000, 4) == 0xe7);
  CHECK(!m.cpu.svm.guest_mode);
}

TEST_CASE("INTR in the guest: the intercept exits before the acknowledge cycle", "[svm]") {
  Machine m("jmp $\n");
  m.put(vmcb::INTERCEPT_MISC1, 4, misc1::INTR);
  m.cpu.intr_line = true;
  // After the #VMEXIT GIF = 0 holds the interrupt pending in the host.
  REQUIRE(m.cpu.run(100) == StopReason::Hlt);
  CHECK(m.q(vmcb::EXITCODE) == exit_code::INTR);
  CHECK(m.q(vmcb::RIP) == GUEST_RIP);
  CHECK(m.q(vmcb::NRIP) == 0);
  CHECK(m.source.acks == 0);
  CHECK(m.cpu.intr_line);
}

TEST_CASE("INTR not intercepted goes through the guest's IDT", "[svm]") {
  Machine m("jmp $\nhandler: hlt\n");
  m.put(vmcb::INTERCEPT_MISC1, 4, misc1::HLT);
  m.guest_gate(0x40, GUEST_RIP + 2);
  m.cpu.intr_line = true;
  m.source.vector = 0x40;
  REQUIRE(m.cpu.run(100) == StopReason::Hlt);
  CHECK(m.source.acks == 1);
  CHECK(m.q(vmcb::EXITCODE) == exit_code::HLT);
  CHECK(m.q(vmcb::RIP) == GUEST_RIP + 2);
  CHECK(m.q(vmcb::RFLAGS) == 0x2);  // the interrupt gate cleared IF
}

TEST_CASE("V_INTR_MASKING: the host's IF masks physical interrupts, not the guest's", "[svm]") {
  Machine m("jmp $\n");
  m.put(vmcb::INTERCEPT_MISC1, 4, misc1::INTR);
  m.put(vmcb::VINTR, 8, vintr::V_INTR_MASKING);
  m.cpu.intr_line = true;  // the host's IF is 0 (flat runner): masked in the guest
  CHECK(m.cpu.run(200) == StopReason::Limit);
  CHECK(m.cpu.svm.guest_mode);
  CHECK(m.source.acks == 0);
  // With the host's IF = 1 the intercept fires although the guest's IF is 0.
  Machine n("jmp $\n");
  n.put(vmcb::INTERCEPT_MISC1, 4, misc1::INTR);
  n.put(vmcb::VINTR, 8, vintr::V_INTR_MASKING);
  n.put(vmcb::RFLAGS, 8, 0x2);
  n.cpu.s.rflags |= fl::IF;
  n.cpu.svm.gif = false;  // the host does not take it before VMRUN (which sets GIF)
  n.cpu.intr_line = true;
  n.cpu.run(200);
  CHECK(n.q(vmcb::EXITCODE) == exit_code::INTR);
}

TEST_CASE("NMI in the guest: intercepted NMIs exit and stay pending", "[svm]") {
  Machine m("jmp $\n");
  m.put(vmcb::INTERCEPT_MISC1, 4, misc1::NMI);
  m.cpu.svm.gif = false;  // held in the host until VMRUN sets GIF
  m.cpu.nmi_pending = true;
  REQUIRE(m.cpu.run(100) == StopReason::Hlt);
  CHECK(m.q(vmcb::EXITCODE) == exit_code::NMI);
  CHECK(m.cpu.nmi_pending);
}

TEST_CASE("VMRUN with the host's TF = 1: the #DB trap follows the #VMEXIT in the host (APM 15.5.2)", "[svm]") {
  Machine m("nop\nhlt\n");
  // Start at the VMRUN itself (RAX = the VMCB), with TF = 1.
  m.cpu.s.gpr[RAX] = VMCB;
  m.cpu.s.rip = after_vmrun() - 3;
  m.cpu.s.rflags |= fl::TF;
  // The flat runner's host has no IDT: the #DB it takes escalates to a
  // shutdown, after the #VMEXIT(HLT) - the guest's NOP took no #DB.
  CHECK(m.cpu.run(100) == StopReason::Shutdown);
  CHECK(m.q(vmcb::EXITCODE) == exit_code::HLT);
  REQUIRE(!m.rec.vectors.empty());
  CHECK(m.rec.vectors.front() == vec::DB);
  CHECK(!m.cpu.svm.guest_mode);
}

TEST_CASE("a guest with TF = 1 takes its #DB after its first instruction, RF kept by VMRUN", "[svm]") {
  Machine m("nop\nhlt\n");
  m.put(vmcb::RFLAGS, 8, 0x102);  // TF
  m.put(vmcb::INTERCEPT_EXCEPTIONS, 4, 1u << vec::DB);
  REQUIRE(m.cpu.run(100) == StopReason::Hlt);
  CHECK(m.q(vmcb::EXITCODE) == exit_code::EXCP_BASE + vec::DB);
  CHECK(m.q(vmcb::RIP) == GUEST_RIP + 1);  // after the NOP
}

TEST_CASE("EVENTINJ NMI goes through the guest's IDT gate 2 and blocks NMIs", "[svm]") {
  Machine m("hlt\nhandler: hlt\n");
  m.guest_gate(2, GUEST_RIP + 1);
  m.put(vmcb::EVENTINJ, 8, eventinj::V | (uint64_t(eventinj::TYPE_NMI) << eventinj::TYPE_SHIFT) | 2);
  REQUIRE(m.cpu.run(100) == StopReason::Hlt);
  CHECK(m.q(vmcb::EXITCODE) == exit_code::HLT);
  CHECK(m.q(vmcb::RIP) == GUEST_RIP + 1);
  CHECK(m.q(vmcb::EVENTINJ) == ((uint64_t(eventinj::TYPE_NMI) << eventinj::TYPE_SHIFT) | 2));  // V cleared
}

TEST_CASE("vGIF: STGI/CLGI in the guest change V_GIF, which holds virtual interrupts", "[svm]") {
  Machine m("clgi\nhlt\n");
  m.put(vmcb::VINTR, 8, vintr::V_GIF_ENABLE | vintr::V_GIF);
  REQUIRE(m.cpu.run(100) == StopReason::Hlt);
  CHECK(m.q(vmcb::EXITCODE) == exit_code::HLT);
  CHECK(m.q(vmcb::VINTR) == vintr::V_GIF_ENABLE);  // V_GIF written back as 0
  // V_GIF = 0: a pending virtual interrupt waits; V_GIF = 1: it is taken.
  for (const bool v_gif : {false, true}) {
    Machine n("nop\nhlt\nhandler: hlt\n");
    n.guest_gate(0x60, GUEST_RIP + 2);
    n.put(vmcb::VINTR, 8, vintr::V_GIF_ENABLE | (v_gif ? vintr::V_GIF : 0) | vintr::V_IRQ | vintr::V_IGN_TPR |
                              (0x60ull << vintr::V_INTR_VECTOR_SHIFT));
    REQUIRE(n.cpu.run(100) == StopReason::Hlt);
    CHECK(n.q(vmcb::RIP) == (v_gif ? GUEST_RIP + 2 : GUEST_RIP + 1));
  }
}

TEST_CASE("a task switch in a 32-bit guest: #VMEXIT(TASK_SWITCH) with the TSS selector and JMP", "[svm]") {
  Machine m("");
  const std::vector<uint8_t> code = test::assemble_nasm("bits 32\njmp 0x28:0\n");
  for (size_t i = 0; i < code.size(); ++i) m.mem.write_phys(GUEST_RIP + i, 1, code[i]);
  // GDT entry 5 (28H): an available 32-bit TSS at 40000H, limit 67H.
  m.mem.write_phys(m.cpu.s.gdtr.base + 0x28, 8, 0x0000890400000067ull);
  m.put(vmcb::GDTR + vmcb::SEG_LIMIT, 4, 0x2f);
  m.put(vmcb::CS + vmcb::SEG_SEL, 2, 0x18);
  m.put(vmcb::CS + vmcb::SEG_ATTRIB, 2, 0xc9b);
  for (uint32_t seg : {vmcb::ES, vmcb::SS, vmcb::DS}) m.put(seg + vmcb::SEG_ATTRIB, 2, 0xc93);
  m.put(vmcb::EFER, 8, efer::SVME);
  m.put(vmcb::CR0, 8, cr0::PE | cr0::ET);
  m.put(vmcb::CR3, 8, 0);
  m.put(vmcb::CR4, 8, 0);
  m.put(vmcb::INTERCEPT_MISC1, 4, misc1::TASK_SWITCH);
  REQUIRE(m.cpu.run(100) == StopReason::Hlt);
  CHECK(m.q(vmcb::EXITCODE) == exit_code::TASK_SWITCH);
  CHECK(m.q(vmcb::EXITINFO1) == 0x28);
  CHECK(m.q(vmcb::EXITINFO2) == task_switch_info::JMP);
  CHECK(m.q(vmcb::RIP) == GUEST_RIP);
  CHECK(m.q(vmcb::NRIP) == GUEST_RIP + code.size());
  CHECK(m.mem.read_phys(m.cpu.s.gdtr.base + 0x28, 8) == 0x0000890400000067ull);  // not marked busy
}

TEST_CASE("EVENTINJ pushes an error code per EV, whatever the vector (APM 15.20)", "[svm]") {
  struct Case {
    uint64_t eventinj;
    bool pushed;
  };
  const uint64_t gp = eventinj::V | (uint64_t(eventinj::TYPE_EXCEPTION) << eventinj::TYPE_SHIFT) | 13;
  const uint64_t intr = eventinj::V | (uint64_t(eventinj::TYPE_INTR) << eventinj::TYPE_SHIFT) | 0x60;
  for (const Case c : {Case{gp | eventinj::EV | (0x1234ull << 32), true}, Case{gp | (0x1234ull << 32), false},
                       Case{intr | eventinj::EV | (0x1234ull << 32), true}, Case{intr, false}}) {
    INFO(std::hex << c.eventinj);
    Machine m("nop\nhandler: hlt\n");
    m.guest_gate(13, GUEST_RIP + 1);
    m.guest_gate(0x60, GUEST_RIP + 1);
    m.put(vmcb::EVENTINJ, 8, c.eventinj);
    REQUIRE(m.cpu.run(100) == StopReason::Hlt);
    CHECK(m.q(vmcb::EXITCODE) == exit_code::HLT);
    CHECK(m.q(vmcb::RIP) == GUEST_RIP + 1);
    // 64-bit frame: RIP, CS, RFLAGS, RSP, SS (40 bytes), then the error code.
    const uint64_t rsp = m.q(vmcb::RSP);
    CHECK(rsp == 0x38000 - (c.pushed ? 48 : 40));
    CHECK(m.mem.read_phys(rsp, 8) == (c.pushed ? 0x1234 : GUEST_RIP));
  }
}

namespace {

// A 32-bit protected-mode guest (no paging) at GUEST_RIP running `code`,
// with an available 32-bit TSS at 40000H (GDT 28H) and 32-bit IDT gates.
struct Machine32 : Machine {
  explicit Machine32(const std::string& code) : Machine("") {
    const std::vector<uint8_t> bin = test::assemble_nasm("bits 32\n" + code);
    for (size_t i = 0; i < bin.size(); ++i) mem.write_phys(GUEST_RIP + i, 1, bin[i]);
    mem.write_phys(cpu.s.gdtr.base + 0x28, 8, 0x0000890400000067ull);
    put(vmcb::GDTR + vmcb::SEG_LIMIT, 4, 0x2f);
    put(vmcb::CS + vmcb::SEG_SEL, 2, 0x18);
    put(vmcb::CS + vmcb::SEG_ATTRIB, 2, 0xc9b);
    for (uint32_t seg : {vmcb::ES, vmcb::SS, vmcb::DS}) put(seg + vmcb::SEG_ATTRIB, 2, 0xc93);
    put(vmcb::EFER, 8, efer::SVME);
    put(vmcb::CR0, 8, cr0::PE | cr0::ET);
    put(vmcb::CR3, 8, 0);
    put(vmcb::CR4, 8, 0);
  }
  // A task gate to the TSS at GDT 28H.
  void task_gate(uint8_t vector) { mem.write_phys(GUEST_IDT + uint64_t(vector) * 8, 8, 0x0000850000280000ull); }
};

}  // namespace

TEST_CASE("a task switch through a task gate of the IDT reports the event in EXITINTINFO (APM 15.7.2)", "[svm]") {
  SECTION("INT 60H") {
    Machine32 m("int 0x60\n");
    m.task_gate(0x60);
    m.put(vmcb::INTERCEPT_MISC1, 4, misc1::TASK_SWITCH);
    REQUIRE(m.cpu.run(100) == StopReason::Hlt);
    CHECK(m.q(vmcb::EXITCODE) == exit_code::TASK_SWITCH);
    CHECK(m.q(vmcb::EXITINFO1) == 0x28);
    CHECK(m.q(vmcb::EXITINFO2) == 0);
    CHECK(m.q(vmcb::EXITINTINFO) == 0x80000460);  // V, TYPE 4 (INTn), vector 60H
    CHECK(m.q(vmcb::RIP) == GUEST_RIP);
    CHECK(m.q(vmcb::NRIP) == 0);
  }
  SECTION("#GP(selector) of a MOV DS") {
    Machine32 m("mov ax, 0x98\nmov ds, ax\n");  // beyond the GDT limit: #GP(98H)
    m.task_gate(13);
    m.put(vmcb::INTERCEPT_MISC1, 4, misc1::TASK_SWITCH);
    REQUIRE(m.cpu.run(100) == StopReason::Hlt);
    CHECK(m.q(vmcb::EXITCODE) == exit_code::TASK_SWITCH);
    CHECK(m.q(vmcb::EXITINFO2) == (task_switch_info::HAS_ERROR_CODE | 0x98));
    CHECK(m.q(vmcb::EXITINTINFO) == ((0x98ull << 32) | 0x80000b0d));  // V, EV, exception, 13
    CHECK(m.q(vmcb::RIP) == GUEST_RIP + 4);
  }
  SECTION("EVENTINJ #GP without EV through the task gate: no error code") {
    Machine32 m("nop\n");
    m.task_gate(13);
    m.put(vmcb::INTERCEPT_MISC1, 4, misc1::TASK_SWITCH);
    m.put(vmcb::EVENTINJ, 8, 0x8000030d);
    REQUIRE(m.cpu.run(100) == StopReason::Hlt);
    CHECK(m.q(vmcb::EXITCODE) == exit_code::TASK_SWITCH);
    CHECK(m.q(vmcb::EXITINFO2) == 0);
    CHECK(m.q(vmcb::EXITINTINFO) == 0x8000030d);
  }
}

TEST_CASE("FERR_FREEZE: an x87 instruction that would freeze (CR0.NE = 0) exits instead (APM 15.14.2)", "[svm]") {
  // 1.0 / 0.0 with #Z unmasked leaves the exception pending; FWAIT would
  // then freeze the CPU (MS-DOS compatibility mode, IGNNE# deasserted).
  const std::string prefix = "fninit\npush 0x37b\nfldcw [rsp]\nfld1\nfldz\nfdivp st1, st0\n";
  const uint64_t fwait_rip = GUEST_RIP + test::assemble_nasm("bits 64\n" + prefix).size();
  for (const bool intercepted : {true, false}) {
    INFO("intercepted " << intercepted);
    Machine m(prefix + "fwait\nhlt\n");
    m.put(vmcb::CR0, 8, m.cpu.s.cr0 & ~cr0::NE);
    if (intercepted) m.put(vmcb::INTERCEPT_MISC1, 4, misc1::HLT | misc1::FERR_FREEZE);
    m.cpu.run(200);
    if (intercepted) {
      CHECK(!m.cpu.svm.guest_mode);
      CHECK(m.q(vmcb::EXITCODE) == exit_code::FERR_FREEZE);
      CHECK(m.q(vmcb::EXITINFO1) == 0);
      CHECK(m.q(vmcb::EXITINFO2) == 0);
      CHECK(m.q(vmcb::RIP) == fwait_rip);
      CHECK(m.q(vmcb::NRIP) == 0);
      CHECK(m.cpu.s.rip == after_vmrun() + 1);  // the host's HLT
    } else {
      // Frozen in the guest before FWAIT, FERR# asserted.
      CHECK(m.cpu.svm.guest_mode);
      CHECK(m.cpu.s.rip == fwait_rip);
      CHECK(m.cpu.ferr);
    }
  }
}

TEST_CASE("RDPMC in a guest on the amd model: the RDPMC intercept, else AMD's counter", "[svm]") {
  Machine m("mov ecx, 1\nrdpmc\nhlt\n");
  m.put(vmcb::INTERCEPT_MISC1, 4, misc1::HLT | misc1::RDPMC);
  REQUIRE(m.cpu.run(100) == StopReason::Hlt);
  CHECK(m.q(vmcb::EXITCODE) == exit_code::RDPMC);
  CHECK(m.q(vmcb::RIP) == GUEST_RIP + 5);
  CHECK(m.q(vmcb::NRIP) == GUEST_RIP + 7);
  // Not intercepted: EDX:EAX = PERF_CTR1.
  Machine n("mov ecx, 1\nrdpmc\nhlt\n");
  n.cpu.s.perf_ctr[1] = 0x123456789abcull;
  REQUIRE(n.cpu.run(100) == StopReason::Hlt);
  CHECK(n.q(vmcb::EXITCODE) == exit_code::HLT);
  CHECK(n.q(vmcb::RAX) == 0x56789abc);
  CHECK(n.cpu.s.gpr[RDX] == 0x1234);
}

TEST_CASE("virtual VMSAVE/VMLOAD: with nested paging and VIRT_EXT bit 1, rAX is guest-physical", "[svm]") {
  // Nested tables (long mode): gPA 0-1 GiB identity with 2-Mbyte pages,
  // except gPA 600000H-7FFFFFH -> 800000H.
  constexpr uint64_t NPML4 = 0x100000, NPDPT = 0x101000, NPD = 0x102000;
  for (const bool virt : {true, false}) {
    INFO("VIRT_EXT bit 1 " << virt);
    Machine m("mov rax, 0x600000\nvmsave\nmov rax, 0x601000\nvmload\nhlt\n");
    m.mem.write_phys(NPML4, 8, NPDPT | 7);
    m.mem.write_phys(NPDPT, 8, NPD | 7);
    for (uint64_t i = 0; i < 512; ++i) m.mem.write_phys(NPD + i * 8, 8, (i << 21) | 0x87);
    m.mem.write_phys(NPD + 3 * 8, 8, 0x800000 | 0x87);
    m.put(vmcb::NP_CONTROL, 8, NP_ENABLE);
    m.put(vmcb::N_CR3, 8, NPML4);
    m.put(vmcb::G_PAT, 8, 0x0007040600070406ull);
    m.put(vmcb::VIRT_EXT, 8, virt ? V_VMSAVE_VMLOAD : 0);
    m.cpu.s.star = 0x1111222233334444ull;  // the guest's STAR (VMSAVE stores it)
    m.mem.write_phys((virt ? 0x801000 : 0x601000) + vmcb::LSTAR, 8, 0xffffffff80001234ull);
    REQUIRE(m.cpu.run(100) == StopReason::Hlt);
    CHECK(m.q(vmcb::EXITCODE) == exit_code::HLT);
    CHECK(m.mem.read_phys(0x800000 + vmcb::STAR, 8) == (virt ? 0x1111222233334444ull : 0));
    CHECK(m.mem.read_phys(0x600000 + vmcb::STAR, 8) == (virt ? 0 : 0x1111222233334444ull));
    CHECK(m.cpu.s.lstar == 0xffffffff80001234ull);
  }
}

// ---- the L1 test kernel ----------------------------------------------------------------------

TEST_CASE("L1 test kernel: an L2 takes every kind of intercept and is resumed (--cpu amd)", "[svm]") {
  const auto [r, state] = test::run_l1_kernel("svm_guest_long64.bin", "amd");
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(r.out.find("FAIL") == std::string::npos);
  CHECK(r.out.find("svm_guest: done") != std::string::npos);
  CHECK(json_value(state, "rax") == 0);    // failed checks
  CHECK(json_value(state, "rbx") == 420);  // passed checks: all of them ran
}
