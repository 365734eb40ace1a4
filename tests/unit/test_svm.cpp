// SVM, first increment (svm/): the VMCB field table against the offsets of
// AMD APM Vol. 2 Appendix B (as Linux's arch/x86/include/asm/svm.h lays
// them out), the exit codes of Appendix C, the amd model's CPUID and its
// `--cpu` switches, the SVM MSRs and EFER.SVME, the instructions' #UD/#GP
// conditions, VMLOAD/VMSAVE, GIF holding INTR, NMI and INIT, and every
// VMRUN consistency check, each broken alone on an otherwise valid VMCB.
#include <catch.hpp>

#include "tests/unit/flat_run_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "emu/block_cache.h"
#include "emu/cli/cpu_option.h"
#include "emu/cli/options.h"
#include "emu/cpu.h"
#include "emu/cpu_features.h"
#include "emu/cpu_model.h"
#include "emu/loader/flat.h"
#include "svm/controls.h"
#include "svm/exit_text.h"
#include "svm/features.h"
#include "svm/vmcb.h"
#include "svm/vmrun_checks.h"
#include "tests/unit/nasm_support.h"

using namespace softvt;
using namespace softvt::svm;

namespace {

constexpr uint64_t LOAD = 0x10000;
constexpr uint64_t VMCB = 0x200000, VMCB2 = 0x201000, HSAVE = 0x202000;

const CpuModel& amd() { return *find_cpu_model("amd"); }

// Records the first exception raised (the flat runner has no IDT, so it
// escalates to shutdown) and the trace notes.
struct Recorder : Cpu::Tracer {
  int vector = -1;
  uint32_t error = 0;
  std::vector<std::string> notes;
  void insn(const Cpu&, uint64_t, uint64_t, const uint8_t*, unsigned) override {}
  void exception(const Cpu&, const GuestException& e) override {
    if (vector >= 0) return;
    vector = e.vector;
    error = e.error_code;
  }
  void note(const Cpu&, const std::string& n) override { notes.push_back(n); }
};

// A long64 flat machine on a given model with EFER.SVME set and
// VM_HSAVE_PA pointing at HSAVE.
struct Machine {
  Memory mem{64 << 20};
  CpuModel model;
  Cpu cpu{mem, model};
  BlockCache blocks{model};
  Recorder rec;

  explicit Machine(const std::string& body, const CpuModel& m = amd(), bool svme = true) : model(m) {
    cpu.s = setup_flat(mem, test::assemble_nasm("bits 64\nstart:\n" + body), LOAD, FlatMode::Long64);
    cpu.blocks = &blocks;
    cpu.tracer = &rec;
    if (svme) cpu.s.efer |= efer::SVME;
    cpu.svm.hsave_pa = HSAVE;
    cpu.update_mode();
    cpu.refresh_tlb_space();
  }
  uint64_t q(uint64_t pa) { return mem.read_phys(pa, 8); }
  void put(uint64_t pa, unsigned size, uint64_t v) { mem.write_phys(pa, size, v); }
  // Runs until HLT; fails the test on anything else.
  GuestException* run_expect_hlt() {
    INFO(cpu.stop_detail);
    REQUIRE(cpu.run(1000) == StopReason::Hlt);
    return nullptr;
  }
};

// ---- a valid VMCB ---------------------------------------------------------------------

// A 64-bit guest on the flat runner's page tables: every check of the
// table passes.
void write_valid_vmcb(Memory& mem, uint64_t pa) {
  for (uint64_t i = 0; i < 4096; i += 8) mem.write_phys(pa + i, 8, 0);
  const auto put = [&](uint32_t off, unsigned size, uint64_t v) { mem.write_phys(pa + off, size, v); };
  put(vmcb::INTERCEPT_MISC2, 4, intercept::MISC2_VMRUN);
  put(vmcb::IOPM_BASE_PA, 8, 0x300000);
  put(vmcb::MSRPM_BASE_PA, 8, 0x304000);
  put(vmcb::GUEST_ASID, 4, 1);
  // CS: 64-bit code, DPL 0 (attributes: type 0xb, S, P | L in bit 9).
  put(vmcb::CS + vmcb::SEG_SEL, 2, 0x08);
  put(vmcb::CS + vmcb::SEG_ATTRIB, 2, 0x29b);
  put(vmcb::CS + vmcb::SEG_LIMIT, 4, 0xffffffff);
  for (uint32_t seg : {vmcb::ES, vmcb::SS, vmcb::DS}) {
    put(seg + vmcb::SEG_SEL, 2, 0x10);
    put(seg + vmcb::SEG_ATTRIB, 2, 0x093);
    put(seg + vmcb::SEG_LIMIT, 4, 0xffffffff);
  }
  put(vmcb::EFER, 8, efer::SCE | efer::LME | efer::LMA | efer::NXE | efer::SVME);
  put(vmcb::CR0, 8, 0x80010033);
  put(vmcb::CR3, 8, 0x1000);
  put(vmcb::CR4, 8, cr4::PAE | cr4::OSFXSR | cr4::OSXMMEXCPT);
  put(vmcb::DR6, 8, 0xffff0ff0);
  put(vmcb::DR7, 8, 0x400);
  put(vmcb::RFLAGS, 8, 2);
  put(vmcb::RIP, 8, 0x12345);
  put(vmcb::RSP, 8, 0x9000);
  put(vmcb::RAX, 8, 0xabcdef);
}

// The run of "mov rax, VMCB; vmrun; hlt".
const std::string kVmrun = "mov rax, " + std::to_string(VMCB) + "\nvmrun\nhlt\n";
// The address after VMRUN in it.
uint64_t after_vmrun() {
  return LOAD + test::assemble_nasm("bits 64\nmov rax, " + std::to_string(VMCB) + "\nvmrun\n").size();
}

}  // namespace

// ---- the VMCB table -------------------------------------------------------------------

TEST_CASE("VMCB offsets are those of APM Appendix B (and Linux's struct vmcb)", "[svm]") {
  // Literal offsets from APM Tables B-1/B-2 (Linux: vmcb_control_area and
  // 0x400 + vmcb_save_area).
  const std::map<std::string, uint16_t> expected = {
      {"INTERCEPT_EXCEPTIONS", 0x008}, {"INTERCEPT_MISC1", 0x00c},     {"INTERCEPT_MISC2", 0x010},
      {"PAUSE_FILTER_THRESHOLD", 0x03c}, {"PAUSE_FILTER_COUNT", 0x03e}, {"IOPM_BASE_PA", 0x040},
      {"MSRPM_BASE_PA", 0x048},        {"TSC_OFFSET", 0x050},          {"GUEST_ASID", 0x058},
      {"TLB_CONTROL", 0x05c},          {"V_TPR", 0x060},               {"EXITCODE", 0x070},
      {"EXITINFO1", 0x078},            {"EXITINFO2", 0x080},           {"EXITINTINFO", 0x088},
      {"NP_ENABLE", 0x090},            {"AVIC_APIC_BAR", 0x098},       {"GHCB_PA", 0x0a0},
      {"EVENTINJ", 0x0a8},             {"N_CR3", 0x0b0},               {"VMCB_CLEAN", 0x0c0},
      {"NRIP", 0x0c8},                 {"INSN_LEN", 0x0d0},            {"INSN_BYTES", 0x0d1},
      {"AVIC_BACKING_PAGE", 0x0e0},    {"AVIC_LOGICAL_TABLE", 0x0f0},  {"AVIC_PHYSICAL_TABLE", 0x0f8},
      {"VMSA_PA", 0x108},              {"ES_SELECTOR", 0x400},         {"CS_ATTRIB", 0x412},
      {"SS_LIMIT", 0x424},             {"DS_BASE", 0x438},             {"FS_SELECTOR", 0x440},
      {"GS_BASE", 0x458},              {"GDTR_LIMIT", 0x464},          {"LDTR_SELECTOR", 0x470},
      {"IDTR_BASE", 0x488},            {"TR_BASE", 0x498},             {"CPL", 0x4cb},
      {"EFER", 0x4d0},                 {"CR4", 0x548},                 {"CR3", 0x550},
      {"CR0", 0x558},                  {"DR7", 0x560},                 {"DR6", 0x568},
      {"RFLAGS", 0x570},               {"RIP", 0x578},                 {"RSP", 0x5d8},
      {"RAX", 0x5f8},                  {"STAR", 0x600},                {"LSTAR", 0x608},
      {"CSTAR", 0x610},                {"SFMASK", 0x618},              {"KERNEL_GS_BASE", 0x620},
      {"SYSENTER_CS", 0x628},          {"SYSENTER_ESP", 0x630},        {"SYSENTER_EIP", 0x638},
      {"CR2", 0x640},                  {"G_PAT", 0x668},               {"DBGCTL", 0x670},
      {"BR_FROM", 0x678},              {"LASTEXCPTO", 0x690},          {"SPEC_CTRL", 0x6e0},
  };
  for (const auto& [name, off] : expected) {
    INFO(name);
    const VmcbField* f = find_vmcb_field(name.c_str());
    REQUIRE(f);
    CHECK(f->offset == off);
  }
  // The constants the code uses agree with the table.
  CHECK(find_vmcb_field("EXITCODE")->offset == vmcb::EXITCODE);
  CHECK(find_vmcb_field("RAX")->offset == vmcb::RAX);
  CHECK(find_vmcb_field("CR4")->offset == vmcb::CR4);
  CHECK(find_vmcb_field("TR_SELECTOR")->offset == vmcb::TR);
  CHECK(find_vmcb_field("LDTR_SELECTOR")->offset == vmcb::LDTR);
  CHECK(find_vmcb_field("KERNEL_GS_BASE")->offset == vmcb::KERNEL_GS_BASE);
  CHECK(find_vmcb_field("SYSENTER_EIP")->offset == vmcb::SYSENTER_EIP);
}

TEST_CASE("VMCB rows: inside their area, naturally aligned, no two overlap", "[svm]") {
  std::set<std::string> names;
  std::map<unsigned, std::string> owner;  // byte -> whole-field owner
  for (const VmcbField& f : vmcb_fields()) {
    INFO(f.name);
    CHECK(names.insert(f.name).second);
    const unsigned end = f.offset + f.size;
    if (f.area == VmcbArea::Control) CHECK(end <= vmcb::CONTROL_END);
    else CHECK((f.offset >= vmcb::SAVE && end <= vmcb::SIZE));
    if (f.size <= 8 && f.size != 1) CHECK(f.offset % f.size == 0);
    if (f.bits) {
      CHECK(f.bit + f.bits <= 8 * f.size);
      continue;  // bit fields share their bytes
    }
    for (unsigned b = f.offset; b < end; ++b) {
      const auto it = owner.find(b);
      INFO("byte " << std::hex << b << " also in " << (it == owner.end() ? "" : it->second));
      CHECK(it == owner.end());
      owner[b] = f.name;
    }
  }
}

TEST_CASE("SVM exit codes are those of APM Appendix C", "[svm]") {
  std::set<uint64_t> codes;
  std::set<std::string> names;
  for (const ExitCode& e : exit_codes()) {
    INFO(e.name);
    CHECK(codes.insert(e.code).second);
    CHECK(names.insert(e.name).second);
  }
  const std::map<uint64_t, std::string> expected = {
      {0x000, "VMEXIT_CR0_READ"},  {0x003, "VMEXIT_CR3_READ"},   {0x018, "VMEXIT_CR8_WRITE"},
      {0x027, "VMEXIT_DR7_READ"},  {0x037, "VMEXIT_DR7_WRITE"},  {0x04e, "VMEXIT_EXCP14"},
      {0x05f, "VMEXIT_EXCP31"},    {0x060, "VMEXIT_INTR"},       {0x063, "VMEXIT_INIT"},
      {0x065, "VMEXIT_CR0_SEL_WRITE"}, {0x072, "VMEXIT_CPUID"},  {0x07b, "VMEXIT_IOIO"},
      {0x07c, "VMEXIT_MSR"},       {0x07f, "VMEXIT_SHUTDOWN"},   {0x080, "VMEXIT_VMRUN"},
      {0x081, "VMEXIT_VMMCALL"},   {0x086, "VMEXIT_SKINIT"},     {0x08d, "VMEXIT_XSETBV"},
      {0x400, "VMEXIT_NPF"},
  };
  for (const auto& [code, name] : expected) {
    INFO(name);
    REQUIRE(exit_code_name(code));
    CHECK(exit_code_name(code) == name);
  }
  // VMEXIT_INVALID is -1 as a 64-bit value; the 32-bit 0xffffffff is no code.
  CHECK(exit_code::INVALID == 0xffffffffffffffffull);
  CHECK(std::string(exit_code_name(0xffffffffffffffffull)) == "VMEXIT_INVALID");
  CHECK(exit_code_name(0xffffffffull) == nullptr);
}

TEST_CASE("the exit information in words (svm/exit_text.h), as the trace notes it", "[svm]") {
  // IOIO (APM 15.10.2): OUT DX, AL to 80H; REP INSW from 3F8H.
  CHECK(exit_details(exit_code::IOIO, (0x80 << 16) | 0x10 | 0x200, 0, 0) == "OUT port 80h, 1 byte");
  CHECK(exit_details(exit_code::IOIO, (0x3f8 << 16) | 1 | 4 | 8 | 0x20, 0, 0) == "REP INS port 3f8h, 2 bytes");
  CHECK(exit_details(exit_code::MSR, 1, 0, 0) == "WRMSR");
  // NPF (APM 15.25.6): a write to a read-only guest page table.
  CHECK(exit_details(exit_code::NPF, 0x200000007ull, 0x411140, 0) ==
        "guest-physical 411140h: protection, write, guest page-table access");
  CHECK(exit_details(exit_code::NPF, 0x10000000dull, 0xa00008, 0) ==
        "guest-physical a00008h: protection, reserved bit, read, final address");
  CHECK(exit_details(exit_code::EXCP_BASE + 14, 2, 0x1234, 0) == "error code 2h, address 1234h");
  CHECK(exit_details(exit_code::CR0_READ + 3, (1ull << 63) | 5, 0, 0) == "MOV, GPR 5");
  CHECK(exit_details(exit_code::TASK_SWITCH, 0x28, task_switch_info::HAS_ERROR_CODE | 0x98, 0) ==
        "to TSS selector 28h, error code 98h");
  // EXITINTINFO: the event whose delivery the exit interrupted.
  CHECK(exit_details(exit_code::TASK_SWITCH, 0x28, 0, 0x80000460) ==
        "to TSS selector 28h; during software interrupt 60h");
  CHECK(exit_details(exit_code::EXCP_BASE + 11, 0x2ab, 0, (0x1234ull << 32) | 0x80000b0d) ==
        "error code 2abh; during exception dh (error code 1234h)");
  CHECK(exit_details(exit_code::HLT, 0, 0, 0).empty());
}

// ---- model data -------------------------------------------------------------------------

TEST_CASE("the amd model reports SVM and leaf 8000000AH; the intel model has none", "[svm]") {
  const CpuModel& m = amd();
  CHECK((m.cpuid(0x80000001, 0).ecx >> 2 & 1) == 1);
  CHECK(m.cpuid(0x80000000, 0).eax >= 0x8000000a);
  const CpuidLeaf l = m.cpuid(0x8000000a, 0);
  CHECK(l.eax == 1);
  CHECK(l.ebx == 0x8000);
  // NP 0, NRIPS 3, TSC rate 4, VMCB clean 5, flush by ASID 6, decode
  // assists 7, pause filter 10, threshold 12, V_VMSAVE_VMLOAD 15, vGIF 16;
  // no LBR virtualization (1), SVM lock (2), AVIC (13).
  CHECK(l.edx == ((1u << 0) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 10) |
                  (1u << 12) | (1u << 15) | (1u << 16)));
  // SKINIT (80000001H:ECX bit 12) is not reported.
  CHECK((m.cpuid(0x80000001, 0).ecx >> 12 & 1) == 0);
  const CpuModel& intel = default_cpu_model();
  CHECK((intel.cpuid(0x80000001, 0).ecx >> 2 & 1) == 0);
  CHECK(!model_has_svm(intel));
}

TEST_CASE("--cpu narrows SVM with QEMU's names", "[svm]") {
  CpuModel m = parse_cpu_option("amd,-npt,-vgif,-decodeassists");
  const uint32_t edx = m.cpuid(0x8000000a, 0).edx;
  CHECK((edx & 1) == 0);
  CHECK((edx >> 16 & 1) == 0);
  CHECK((edx >> 7 & 1) == 0);
  CHECK((edx >> 3 & 1) == 1);
  CpuModel off = parse_cpu_option("amd,-svm");
  CHECK(!model_has_svm(off));
  const CpuidLeaf l = off.cpuid(0x8000000a, 0);
  CHECK((l.eax | l.ebx | l.ecx | l.edx) == 0);
  CHECK_THROWS_AS(parse_cpu_option("intel,+svm"), UsageError);
  CHECK_THROWS_AS(parse_cpu_option("intel,+npt"), UsageError);
}

// ---- MSRs and EFER.SVME ----------------------------------------------------------------

TEST_CASE("EFER.SVME, VM_CR and VM_HSAVE_PA follow APM 15.30", "[svm]") {
  // WRMSR/RDMSR through guest code: ECX index, EDX:EAX value; the result
  // or the #GP shows in the final state (#GP escalates to shutdown).
  auto wrmsr = [](uint32_t index, uint64_t v, const CpuModel& m = amd(), bool svme = false) {
    Machine mc("mov ecx, " + std::to_string(index) + "\nmov eax, " + std::to_string(uint32_t(v)) +
                   "\nmov edx, " + std::to_string(uint32_t(v >> 32)) + "\nwrmsr\nhlt\n",
               m, svme);
    const StopReason r = mc.cpu.run(100);
    return std::make_pair(r, mc.cpu.svm);
  };
  // EFER.SVME: writable with SVM; #GP on the intel model.
  CHECK(wrmsr(0xc0000080, 0xd01 | efer::SVME).first == StopReason::Hlt);
  CHECK(wrmsr(0xc0000080, 0xd01 | efer::SVME, default_cpu_model()).first == StopReason::Shutdown);
  // VM_HSAVE_PA: page-aligned and below MAXPHYADDR (40 bits).
  auto [r1, st1] = wrmsr(msr::VM_HSAVE_PA, 0x123000);
  CHECK(r1 == StopReason::Hlt);
  CHECK(st1.hsave_pa == 0x123000);
  CHECK(wrmsr(msr::VM_HSAVE_PA, 0x123008).first == StopReason::Shutdown);
  CHECK(wrmsr(msr::VM_HSAVE_PA, 1ull << 40).first == StopReason::Shutdown);
  CHECK(wrmsr(msr::VM_HSAVE_PA, (1ull << 40) - 0x1000).first == StopReason::Hlt);
  // VM_CR: reserved bits #GP; SVMDIS while EFER.SVME = 1 #GP.
  CHECK(wrmsr(msr::VM_CR, 1u << 5).first == StopReason::Shutdown);
  CHECK(wrmsr(msr::VM_CR, vm_cr::SVMDIS, amd(), true).first == StopReason::Shutdown);
  auto [r2, st2] = wrmsr(msr::VM_CR, vm_cr::SVMDIS | vm_cr::LOCK);
  CHECK(r2 == StopReason::Hlt);
  CHECK(st2.vm_cr == (vm_cr::SVMDIS | vm_cr::LOCK));
  // No SVM MSRs on the intel model.
  CHECK(wrmsr(msr::VM_CR, 0, default_cpu_model()).first == StopReason::Shutdown);
}

TEST_CASE("VM_CR.LOCK freezes LOCK and SVMDIS; SVMDIS makes EFER.SVME #GP", "[svm]") {
  Machine mc(
      // VM_CR := SVMDIS | LOCK; then try to clear them (ignored), then set
      // EFER.SVME (#GP -> shutdown).
      "mov ecx, 0xc0010114\nmov eax, 0x18\nxor edx, edx\nwrmsr\n"
      "xor eax, eax\nwrmsr\nrdmsr\nmov ebx, eax\n"
      "mov ecx, 0xc0000080\nrdmsr\nbts eax, 12\nwrmsr\nhlt\n",
      amd(), false);
  CHECK(mc.cpu.run(100) == StopReason::Shutdown);
  CHECK(mc.cpu.s.gpr[RBX] == 0x18);
  CHECK(!(mc.cpu.s.efer & efer::SVME));
}

// ---- instruction #UD / #GP ---------------------------------------------------------------

TEST_CASE("SVM instructions: #UD without EFER.SVME, #GP(0) at CPL 3 or with a bad rAX", "[svm]") {
  const char* insns[] = {"vmrun", "vmload", "vmsave", "stgi", "clgi", "invlpga"};
  for (const char* insn : insns) {
    INFO(insn);
    {  // EFER.SVME = 0: #UD (the IDT limit 0 escalates: the shutdown text names it)
      Machine m(std::string("mov rax, ") + std::to_string(VMCB) + "\n" + insn + "\nhlt\n", amd(), false);
      CHECK(m.cpu.run(100) == StopReason::Shutdown);
      CHECK(m.rec.vector == vec::UD);
    }
    {  // CPL 3: #GP(0)
      Machine m(std::string("mov rax, ") + std::to_string(VMCB) + "\n" + insn + "\nhlt\n");
      m.cpu.s.cpl = 3;
      m.cpu.s.seg[CS].attr |= 3u << ar::DPL_SHIFT;
      CHECK(m.cpu.run(100) == StopReason::Shutdown);
      CHECK(m.rec.vector == vec::GP);
      CHECK(m.rec.error == 0);
    }
  }
  for (const char* insn : {"vmrun", "vmload", "vmsave"}) {
    INFO(insn);
    for (uint64_t bad : {VMCB + 8, uint64_t(1) << 40}) {
      Machine m(std::string("mov rax, ") + std::to_string(bad) + "\n" + insn + "\nhlt\n");
      CHECK(m.cpu.run(100) == StopReason::Shutdown);
      CHECK(m.rec.vector == vec::GP);
      CHECK(m.rec.error == 0);
    }
  }
  // VMMCALL outside a guest and SKINIT (not modelled): #UD even with SVME.
  for (const char* insn : {"vmmcall", "skinit"}) {
    INFO(insn);
    Machine m(std::string(insn) + "\nhlt\n");
    CHECK(m.cpu.run(100) == StopReason::Shutdown);
    CHECK(m.rec.vector == vec::UD);
  }
}

// ---- VMLOAD / VMSAVE ---------------------------------------------------------------------

TEST_CASE("VMLOAD loads exactly the APM's state; VMSAVE stores exactly it", "[svm]") {
  Machine m("mov rax, " + std::to_string(VMCB) + "\nvmload\nmov rax, " + std::to_string(VMCB2) +
            "\nvmsave\nhlt\n");
  // The source VMCB: a pattern everywhere, the listed fields set.
  for (uint64_t i = 0; i < 4096; i += 8) m.put(VMCB + i, 8, 0x5a5a5a5a5a5a5a5aull);
  struct Seg { uint32_t off; uint16_t sel, attrib; uint32_t limit; uint64_t base; };
  const Seg segs[] = {{vmcb::FS, 0x33, 0x0093, 0xfffff, 0x1111222233330000ull},
                      {vmcb::GS, 0x3b, 0x00f3, 0xffff, 0xffff800000001000ull},
                      {vmcb::TR, 0x40, 0x008b, 0x67, 0x7000},
                      {vmcb::LDTR, 0x48, 0x0082, 0x2f, 0x8000}};
  for (const Seg& s : segs) {
    m.put(VMCB + s.off + vmcb::SEG_SEL, 2, s.sel);
    m.put(VMCB + s.off + vmcb::SEG_ATTRIB, 2, s.attrib);
    m.put(VMCB + s.off + vmcb::SEG_LIMIT, 4, s.limit);
    m.put(VMCB + s.off + vmcb::SEG_BASE, 8, s.base);
  }
  const std::pair<uint32_t, uint64_t> msrs[] = {
      {vmcb::KERNEL_GS_BASE, 0xffff888000000000ull}, {vmcb::STAR, 0x0023001000000000ull},
      {vmcb::LSTAR, 0xffffffff81000000ull},          {vmcb::CSTAR, 0xffffffff81000040ull},
      {vmcb::SFMASK, 0x47700},                       {vmcb::SYSENTER_CS, 0x10},
      {vmcb::SYSENTER_ESP, 0xffffc90000001000ull},   {vmcb::SYSENTER_EIP, 0xffffffff81000080ull}};
  for (const auto& [off, v] : msrs) m.put(VMCB + off, 8, v);
  // The destination: a different pattern.
  for (uint64_t i = 0; i < 4096; i += 8) m.put(VMCB2 + i, 8, 0xa5a5a5a5a5a5a5a5ull);
  const CpuState before = m.cpu.s;
  m.run_expect_hlt();
  const CpuState& s = m.cpu.s;
  CHECK(s.seg[FS].sel == 0x33);
  CHECK(s.seg[FS].base == 0x1111222233330000ull);
  CHECK(s.seg[FS].limit == 0xfffff);
  CHECK(s.seg[FS].attr == (ar::P | ar::S | 0x3));
  CHECK(s.seg[GS].attr == (ar::P | ar::S | (3u << ar::DPL_SHIFT) | 0x3));
  CHECK(s.tr.sel == 0x40);
  CHECK(s.tr.base == 0x7000);
  CHECK(s.tr.limit == 0x67);
  CHECK(s.ldtr.base == 0x8000);
  CHECK(s.kernel_gs_base == 0xffff888000000000ull);
  CHECK(s.star == 0x0023001000000000ull);
  CHECK(s.lstar == 0xffffffff81000000ull);
  CHECK(s.cstar == 0xffffffff81000040ull);
  CHECK(s.sfmask == 0x47700);
  CHECK(s.sysenter_cs == 0x10);
  CHECK(s.sysenter_esp == 0xffffc90000001000ull);
  CHECK(s.sysenter_eip == 0xffffffff81000080ull);
  // Nothing else changed.
  CHECK(s.seg[DS].base == before.seg[DS].base);
  CHECK(s.seg[CS].sel == before.seg[CS].sel);
  CHECK(s.cr3 == before.cr3);
  CHECK(s.efer == before.efer);
  // VMSAVE wrote the same fields to VMCB2 and nothing else: every byte of
  // the page is the source's for a listed field, the pattern otherwise.
  std::set<unsigned> listed;
  for (const Seg& sg : segs)
    for (unsigned b = 0; b < 16; ++b) listed.insert(sg.off + b);
  for (const auto& [off, v] : msrs)
    for (unsigned b = 0; b < 8; ++b) listed.insert(off + b);
  unsigned mismatches = 0;
  for (unsigned b = 0; b < 4096; ++b) {
    const uint8_t got = m.mem.ram()[VMCB2 + b];
    const uint8_t want = listed.count(b) ? m.mem.ram()[VMCB + b] : 0xa5;
    if (got != want && ++mismatches < 5) FAIL_CHECK("VMSAVE byte " << std::hex << b << ": " << int(got));
  }
  CHECK(mismatches == 0);
}

// ---- GIF ----------------------------------------------------------------------------------

namespace {
struct OneShot : Cpu::InterruptSource {
  Cpu* cpu = nullptr;
  unsigned acks = 0;
  uint8_t intr_acknowledge() override {
    ++acks;
    cpu->intr_line = false;
    return 0x20;
  }
};

// A 64-bit IDT at 0x8000 whose vectors 2 (NMI) and 0x20 go to `handler`
// (CS 0x08, interrupt gate); the handler copies RBX to R14 and counts in R15.
void install_idt(Machine& m, uint64_t handler) {
  for (unsigned v : {2u, 0x20u}) {
    const uint64_t lo = (handler & 0xffff) | (uint64_t(0x08) << 16) | (uint64_t(0x8e00) << 32) |
                        ((handler >> 16 & 0xffff) << 48);
    m.put(0x8000 + 16 * v, 8, lo);
    m.put(0x8000 + 16 * v + 8, 8, handler >> 32);
  }
  m.cpu.s.idtr = DescTable{0x8000, 0x3ff, 0};
}
const char* kGifProgram =
    "clgi\nsti\nnop\ninc rbx\ninc rbx\nstgi\ninc rbx\nhlt\n"
    "handler:\nmov r14, rbx\ninc r15\niretq\n";
}  // namespace

TEST_CASE("GIF = 0 holds INTR and NMI pending until STGI", "[svm]") {
  for (bool nmi : {false, true}) {
    INFO(std::string(nmi ? "NMI" : "INTR"));
    Machine m(kGifProgram);
    const size_t handler_off = test::assemble_nasm("bits 64\nclgi\nsti\nnop\ninc rbx\ninc rbx\nstgi\ninc rbx\nhlt\n").size();
    install_idt(m, LOAD + handler_off);
    OneShot src;
    src.cpu = &m.cpu;
    m.cpu.intr_source = &src;
    if (nmi) m.cpu.nmi_pending = true;
    else m.cpu.intr_line = true;
    // The event is pending from the start; GIF is 1 there, so the first
    // boundary takes it before CLGI unless held. Start with GIF already 0.
    m.cpu.svm.gif = false;
    m.run_expect_hlt();
    // Taken right after STGI: RBX = 2 (both INCs before STGI ran), once.
    CHECK(m.cpu.s.gpr[R15] == 1);
    CHECK(m.cpu.s.gpr[R14] == 2);
    CHECK(m.cpu.s.gpr[RBX] == 3);
    CHECK(m.cpu.svm.gif);
    if (!nmi) CHECK(src.acks == 1);
  }
}

TEST_CASE("GIF = 0 holds INIT pending; STGI delivers it", "[svm]") {
  Machine m("stgi\nhlt\n");
  m.cpu.svm.gif = false;
  m.cpu.init_signal();
  CHECK(m.cpu.svm.init_held);
  CHECK(m.cpu.s.rip == LOAD);  // nothing happened yet
  CHECK(m.cpu.s.efer & efer::SVME);
  // One instruction: STGI retires, then the INIT is taken (the flat state
  // is a BSP's, which would go on running from the reset vector).
  m.cpu.run(1);
  CHECK(m.cpu.s.insn_count == 1);
  CHECK(!m.cpu.svm.init_held);
  // INIT state (SDM 9.1.1): EFER = 0, CS base FFFF0000H, RIP FFF0H.
  CHECK(m.cpu.s.efer == 0);
  CHECK(m.cpu.s.seg[CS].base == 0xffff0000);
  CHECK(m.cpu.s.rip == 0xfff0);
}

// ---- INVLPGA --------------------------------------------------------------------------------

TEST_CASE("INVLPGA drops the page of the ASID in ECX only", "[svm]") {
  for (uint32_t asid : {0u, 5u}) {
    INFO("ASID " << asid);
    Machine m("mov rax, 0x400000\nmov ecx, " + std::to_string(asid) + "\ninvlpga\nhlt\n");
    m.cpu.translate(0x400000, Acc::Read, false);
    auto cached = [&] {
      for (const TlbEntry& e : m.cpu.tlb)
        if (e.tag && (e.tag & ~uint64_t(0xfff)) == 0x400000) return true;
      return false;
    };
    REQUIRE(cached());
    m.run_expect_hlt();
    // The host's translations are ASID 0's.
    CHECK(cached() == (asid != 0));
  }
}

// ---- VMRUN -----------------------------------------------------------------------------------

namespace {
using Mutation = std::function<void(Machine&)>;
void set_q(Machine& m, uint32_t off, uint64_t v) { m.put(VMCB + off, 8, v); }
void or_q(Machine& m, uint32_t off, uint64_t v) { m.put(VMCB + off, 8, m.q(VMCB + off) | v); }
void and_q(Machine& m, uint32_t off, uint64_t v) { m.put(VMCB + off, 8, m.q(VMCB + off) & v); }
void enable_np(Machine& m) { or_q(m, vmcb::NP_CONTROL, NP_ENABLE); }

// The host in 32-bit protected mode without paging (CS = the flat GDT's
// 32-bit code segment): "mov rax, VMCB; vmrun; hlt" encodes the same
// there (B8 imm32, 0F 01 D8, F4).
void host_unpaged_prot32(Machine& m) {
  CpuState& s = m.cpu.s;
  s.cr0 &= ~cr0::PG;
  s.efer &= ~(efer::LME | efer::LMA);
  s.seg[CS].sel = 0x18;
  s.seg[CS].attr = 0xc09b;
  s.seg[CS].base = 0;
  s.seg[CS].limit = 0xffffffff;
  m.cpu.update_mode();
  m.cpu.flush_tlb();
}

// For each check, a change of the valid VMCB that breaks it and no other
// (the model change of efer_long_mode_unsupported is the one exception:
// the VMCB stays as it is, the model loses long mode).
const std::map<std::string, Mutation>& mutations() {
  static const std::map<std::string, Mutation> k = {
      {"efer_svme_zero", [](Machine& m) { and_q(m, vmcb::EFER, ~efer::SVME); }},
      {"cr0_cd_zero_nw_set", [](Machine& m) { or_q(m, vmcb::CR0, cr0::NW); }},
      {"cr0_high_bits", [](Machine& m) { or_q(m, vmcb::CR0, 1ull << 32); }},
      {"cr3_mbz", [](Machine& m) { or_q(m, vmcb::CR3, 1ull << 40); }},
      {"cr4_mbz", [](Machine& m) { or_q(m, vmcb::CR4, cr4::PKE); }},
      {"dr6_high_bits", [](Machine& m) { or_q(m, vmcb::DR6, 1ull << 32); }},
      {"dr7_high_bits", [](Machine& m) { or_q(m, vmcb::DR7, 1ull << 63); }},
      {"efer_mbz", [](Machine& m) { or_q(m, vmcb::EFER, efer::FFXSR); }},
      {"efer_long_mode_unsupported", [](Machine&) {}},
      {"efer_lme_cr0_pg_cr4_pae_zero", [](Machine& m) { and_q(m, vmcb::CR4, ~cr4::PAE); }},
      {"efer_lme_cr0_pg_cr0_pe_zero", [](Machine& m) { and_q(m, vmcb::CR0, ~cr0::PE); }},
      {"efer_lme_cr0_pg_cr4_pae_cs_l_cs_d", [](Machine& m) { m.put(VMCB + vmcb::CS + vmcb::SEG_ATTRIB, 2, 0x69b); }},
      {"vmrun_intercept_clear", [](Machine& m) { m.put(VMCB + vmcb::INTERCEPT_MISC2, 4, 0); }},
      {"msrpm_beyond_phys", [](Machine& m) { set_q(m, vmcb::MSRPM_BASE_PA, (1ull << 40) - 0x1000); }},
      {"iopm_beyond_phys", [](Machine& m) { set_q(m, vmcb::IOPM_BASE_PA, (1ull << 40) - 0x2000); }},
      {"eventinj_illegal", [](Machine& m) { set_q(m, vmcb::EVENTINJ, eventinj::V | (3ull << 8) | 2); }},
      {"asid_zero", [](Machine& m) { m.put(VMCB + vmcb::GUEST_ASID, 4, 0); }},
      {"np_host_cr0_pg_zero",
       [](Machine& m) {
         enable_np(m);
         host_unpaged_prot32(m);
       }},
      {"n_cr3_mbz",
       [](Machine& m) {
         enable_np(m);
         set_q(m, vmcb::N_CR3, 0x300000 | (1ull << 40));
       }},
      {"g_pat_illegal",
       [](Machine& m) {
         enable_np(m);
         set_q(m, vmcb::G_PAT, 0x0007040600070406ull | (2ull << 56));
       }},
  };
  return k;
}

CpuModel model_for(const std::string& check) {
  CpuModel m = amd();
  if (check == "efer_long_mode_unsupported") set_model_feature(m, *find_cpu_feature("lm"), false);
  return m;
}
}  // namespace

TEST_CASE("VMRUN with a valid VMCB loads the guest and runs it", "[svm]") {
  Machine m(kVmrun);
  write_valid_vmcb(m.mem, VMCB);
  // Non-canonical segment bases are canonicalised, not a failure.
  m.put(VMCB + vmcb::DS + vmcb::SEG_BASE, 8, 0x0000900000000000ull);
  m.put(0x12345, 1, 0xf4);  // the guest: HLT, not intercepted (the run stops in the guest)
  CHECK(m.cpu.run(100) == StopReason::Hlt);
  CHECK(m.cpu.svm.failed_check == nullptr);
  CHECK(m.cpu.svm.guest_mode);
  CHECK(m.cpu.s.rip == 0x12346);
  CHECK(m.cpu.s.gpr[RAX] == 0xabcdef);
  CHECK(m.cpu.s.gpr[RSP] == 0x9000);
  CHECK(m.cpu.s.seg[DS].base == 0xffff900000000000ull);
  // The host state went to VM_HSAVE_PA (softvt's layout: the VMCB save
  // area's offsets): RIP after VMRUN, RAX = the VMCB address.
  CHECK(m.q(HSAVE + vmcb::RIP) == after_vmrun());
  CHECK(m.q(HSAVE + vmcb::RAX) == VMCB);
  CHECK(m.q(HSAVE + vmcb::CR3) == 0x1000);
}

TEST_CASE("every VMRUN consistency check fires alone, as #VMEXIT(VMEXIT_INVALID) = 64-bit -1", "[svm]") {
  // Every row of the table has a mutation here (a new check needs one).
  for (const VmrunCheck& c : vmrun_checks()) {
    INFO(c.name);
    REQUIRE(mutations().count(c.name) == 1);
  }
  CHECK(mutations().size() == vmrun_checks().size());
  const uint64_t host_rip = after_vmrun();
  for (const VmrunCheck& c : vmrun_checks()) {
    INFO(c.name);
    Machine m(kVmrun + "nop\n", model_for(c.name));
    write_valid_vmcb(m.mem, VMCB);
    m.put(VMCB + vmcb::EXITCODE, 8, 0x1234);
    m.put(VMCB + vmcb::EXITINFO1, 8, 0x77);
    mutations().at(c.name)(m);
    m.cpu.s.gpr[RBX] = 0x5555;  // untouched by VMRUN
    const CpuState before = m.cpu.s;
    m.run_expect_hlt();
    REQUIRE(m.cpu.svm.failed_check);
    CHECK(std::string(m.cpu.svm.failed_check) == c.name);
    // EXITCODE: all 64 bits set.
    CHECK(m.q(VMCB + vmcb::EXITCODE) == 0xffffffffffffffffull);
    CHECK(m.q(VMCB + vmcb::EXITINFO1) == 0);
    // The host state is back: RIP after VMRUN (on the HLT, the run
    // stopped there), RAX, RSP, CR0/3/4, EFER, CS; GIF cleared; DR7 with
    // every breakpoint disabled.
    const CpuState& s = m.cpu.s;
    CHECK(s.rip == host_rip + 1);
    CHECK(s.gpr[RAX] == VMCB);
    CHECK(s.gpr[RBX] == 0x5555);
    CHECK(s.gpr[RSP] == before.gpr[RSP]);
    CHECK(s.cr0 == before.cr0);
    CHECK(s.cr3 == before.cr3);
    CHECK(s.cr4 == before.cr4);
    CHECK(s.efer == before.efer);
    CHECK(s.seg[CS].sel == before.seg[CS].sel);
    CHECK(s.seg[CS].attr == before.seg[CS].attr);
    CHECK(s.seg[SS].attr == before.seg[SS].attr);
    CHECK(s.gdtr.base == before.gdtr.base);
    CHECK(s.dr[7] == 0x400);
    CHECK(!m.cpu.svm.gif);
    // The trace names the check.
    bool noted = false;
    for (const std::string& n : m.rec.notes)
      noted |= n.find(std::string("'") + c.name + "'") != std::string::npos && n.find("VMEXIT_INVALID") != std::string::npos;
    CHECK(noted);
  }
}

TEST_CASE("VMRUN checks at their edges: maps ending at MAXPHYADDR pass, EVENTINJ types", "[svm]") {
  auto failed = [](const Mutation& mut) -> std::string {
    Machine m(kVmrun);
    write_valid_vmcb(m.mem, VMCB);
    mut(m);
    m.cpu.run(100);
    return m.cpu.svm.failed_check ? m.cpu.svm.failed_check : "";
  };
  CHECK(failed([](Machine& m) { set_q(m, vmcb::MSRPM_BASE_PA, (1ull << 40) - 0x2000); }) == "");
  CHECK(failed([](Machine& m) { set_q(m, vmcb::IOPM_BASE_PA, (1ull << 40) - 0x3000); }) == "");
  // Bits 11:0 of the map bases are ignored.
  CHECK(failed([](Machine& m) { set_q(m, vmcb::MSRPM_BASE_PA, (1ull << 40) - 0x2000 + 0xfff); }) == "");
  // EVENTINJ: exception #PF (14) with an error code, NMI, INTR, INTn are
  // legal; reserved types 1, 5, 6, 7 and exception vector 2 are not.
  CHECK(failed([](Machine& m) { set_q(m, vmcb::EVENTINJ, eventinj::V | eventinj::EV | (3ull << 8) | 14); }) == "");
  for (uint64_t type : {0ull, 2ull, 4ull})
    CHECK(failed([type](Machine& m) { set_q(m, vmcb::EVENTINJ, eventinj::V | (type << 8) | 0x20); }) == "");
  for (uint64_t type : {1ull, 5ull, 6ull, 7ull})
    CHECK(failed([type](Machine& m) { set_q(m, vmcb::EVENTINJ, eventinj::V | (type << 8) | 0x20); }) ==
          "eventinj_illegal");
  // V = 0: never checked.
  CHECK(failed([](Machine& m) { set_q(m, vmcb::EVENTINJ, (7ull << 8) | 2); }) == "");
  // CS.L with CS.D outside long mode is no failure (EFER.LME = 0, legacy).
  CHECK(failed([](Machine& m) {
          set_q(m, vmcb::EFER, efer::SVME);
          and_q(m, vmcb::CR0, ~cr0::PG);
          m.put(VMCB + vmcb::CS + vmcb::SEG_ATTRIB, 2, 0x69b);
        }) == "");
}

// ---- the L1 test kernel ----------------------------------------------------------------------

namespace {
using softvt::test::env_path;
using softvt::test::json_value;
using softvt::test::slurp;
struct KernelRun {
  int status;
  std::string out, json;
};
KernelRun run_kernel(const std::string& cpu) {
  const std::string tmp = "/tmp/softvt_svm_" + std::to_string(getpid());
  const std::string cmd = env_path("SOFTVT") + " run --flat " + env_path("SOFTVT_GUEST_DIR") +
                          "/svm_instructions_long64.bin --cpu " + cpu + " --debugcon stdio --dump-state " +
                          tmp + ".json >" + tmp + ".out 2>&1";
  const int raw = std::system(cmd.c_str());
  KernelRun r{WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(tmp + ".out"), slurp(tmp + ".json")};
  std::remove((tmp + ".out").c_str());
  std::remove((tmp + ".json").c_str());
  return r;
}
}  // namespace

TEST_CASE("L1 test kernel: every SVM instruction through its outcomes (--cpu amd)", "[svm]") {
  const KernelRun r = run_kernel("amd");
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK(r.out.find("FAIL") == std::string::npos);
  CHECK(r.out.find("svm_instructions: done") != std::string::npos);
  CHECK(json_value(r.json, "rax") == 0);    // failed checks
  CHECK(json_value(r.json, "rbx") == 109);  // passed checks: all of them ran
}

TEST_CASE("L1 test kernel without SVM: every SVM instruction is #UD (--cpu amd,-svm)", "[svm]") {
  const KernelRun r = run_kernel("amd,-svm");
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK(r.out.find("FAIL") == std::string::npos);
  CHECK(json_value(r.json, "rax") == 0);
  CHECK(json_value(r.json, "rbx") == 9);
}
