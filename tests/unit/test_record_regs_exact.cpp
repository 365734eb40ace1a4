// --record-regs compares, after an instruction that can write only its
// register operands, only those registers (traces/reg_writes.h; the run
// loop's emu/insn_sequence.h says when nothing else ran in between). A
// register change it missed would be recorded late or never. These tests
// record runs twice at once - through TraceWriter's fast path and through
// a reference recorder that compares the whole register file before every
// instruction (RecordingTracer's own emit_register_changes, the path the
// replay checker uses) and encodes each Record with TraceEncoder::encode -
// and require the same bytes: a kernel of implicit register writers and
// exceptions, the guest-program corpus, and (through `softvt replay`,
// whose checker is that reference) PC multiboot kernels and VMX and SVM
// L1 kernels.
#include <catch.hpp>

#include <cstdio>
#include <cstring>
#include <random>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <Zydis/Zydis.h>

#include "emu/accel/accel.h"
#include "emu/cpu_model.h"
#include "emu/loader/flat.h"
#include "emu/memory.h"
#include "tests/unit/cli_support.h"
#include "tests/unit/nasm_support.h"
#include "tests/unit/test_guest_corpus_support.h"
#include "traces/format.h"
#include "traces/recorder.h"
#include "traces/reg_writes.h"

using namespace softvt;
using namespace softvt::trace;

namespace {

// Every record encoded through encode(Record); the registers found by
// comparing all of them before each instruction.
class ReferenceRecorder final : public RecordingTracer {
 public:
  explicit ReferenceRecorder(uint64_t flags) : RecordingTracer(flags) {}
  TraceEncoder enc;

 protected:
  void emit(const Record& r) override { enc.encode(r); }
};

std::string tmp_path(const std::string& name) {
  return "/tmp/softvt_regs_exact_" + std::to_string(getpid()) + "_" + name;
}

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct Recorded {
  std::vector<uint8_t> fast, reference;  // the records (no header)
  RunOutcome out;
};

// Runs `image` on the flat machine with both recorders (regs and memory
// writes recorded) and returns their records.
Recorded record_both(const std::vector<uint8_t>& image, FlatMode mode, uint64_t load, uint64_t max_insns,
                     const CpuModel& model = default_cpu_model()) {
  Memory mem{64ull << 20};
  const CpuState init = setup_flat(mem, image, load, mode);
  TraceHeader h;
  h.machine = "flat";
  h.flags = header_flag::REGS | header_flag::MEM;
  const std::string path = tmp_path("fast.trace");
  Recorded r;
  {
    TraceWriter fast(path, h);
    ReferenceRecorder reference(h.flags);
    TeeTracer both(fast, reference);
    RunOptions opt;
    opt.max_insns = max_insns;
    opt.tracer = &both;
    r.out = run_interp(mem, init, model, opt);
    fast.end(r.out.stop, r.out.state.insn_count, r.out.detail);
    reference.end(r.out.stop, r.out.state.insn_count, r.out.detail);
    REQUIRE(fast.finish());
    r.reference = reference.enc.buffer();
  }
  const std::vector<uint8_t> file = file_bytes(path);
  std::remove(path.c_str());
  const size_t header = encode_header(h).size();
  REQUIRE(file.size() >= header);
  r.fast.assign(file.begin() + long(header), file.end());
  return r;
}

// The first record where two record streams part, in words.
std::string first_difference(const std::vector<uint8_t>& fast, const std::vector<uint8_t>& reference) {
  TraceHeader h;
  h.flags = header_flag::REGS | header_flag::MEM;
  std::vector<uint8_t> a = encode_header(h), b = a;
  a.insert(a.end(), fast.begin(), fast.end());
  b.insert(b.end(), reference.begin(), reference.end());
  try {
    TraceDecoder da(a.data(), a.size(), "fast"), db(b.data(), b.size(), "reference");
    Record ra, rb;
    for (uint64_t n = 0;; ++n) {
      const bool ha = da.next(ra), hb = db.next(rb);
      if (!ha || !hb) return ha == hb ? "none" : "one stream ends first, at record " + std::to_string(n);
      if (!ra.same_as(rb)) {
        std::string s = "record " + std::to_string(n) + " (" + kind_name(ra.kind) + " / " + kind_name(rb.kind) +
                        ") at instruction count " + std::to_string(ra.icount) + ": fast registers";
        for (const RegValue& v : ra.regs) s += std::string(" ") + reg_name(v.reg);
        s += ", reference registers";
        for (const RegValue& v : rb.regs) s += std::string(" ") + reg_name(v.reg);
        return s;
      }
    }
  } catch (const TraceError& e) {
    return e.what();
  }
}

void require_same_records(const Recorded& r) {
  INFO("first difference: " << first_difference(r.fast, r.reference));
  REQUIRE(r.fast.size() == r.reference.size());
  REQUIRE(r.fast == r.reference);
}

// Implicit register writers between plain instructions (whose registers
// the fast path compares alone), and exceptions, INT n, SYSCALL, far
// transfers, MSR, segment and control-register writes. Each handler
// resumes at [resume] and changes R15 and R14 (not operands of the
// instruction that faulted). Ends with HLT; RBX = 0x600d at the end.
const char* const kImplicitWriters = R"(
bits 64
org 0x10000
IDT equ 0x8000
  lea rdi, [IDT]
  xor eax, eax
  mov ecx, 512
  rep stosq                        ; RCX, RDI (and the IDT)
  mov eax, 0                       ; gates: #DE, #DB, #BP, #UD, #GP, #PF, 0x80
  lea rsi, [rel de_handler]
  call set_gate
  mov eax, 3
  lea rsi, [rel trap_handler]
  call set_gate
  mov eax, 6
  lea rsi, [rel fault_handler]
  call set_gate
  mov eax, 13
  lea rsi, [rel fault_ec_handler]
  call set_gate
  mov eax, 14
  lea rsi, [rel fault_ec_handler]
  call set_gate
  mov eax, 0x80
  lea rsi, [rel trap_handler]
  call set_gate
  lidt [rel idtr]

  ; RDX:RAX writers and the accumulator
  mov rax, 0x123456789
  mov rbx, 0x1000
  mul rbx
  mov rcx, -7
  imul rcx
  imul ecx
  imul rdx, rcx, 3
  mov al, 200
  mov bl, 3
  mul bl                           ; AX
  mov ax, 0x1234
  mov bx, 0x100
  mul bx                           ; DX:AX
  mov edx, 1
  mov eax, 5
  mov ecx, 7
  div ecx
  cqo
  idiv rcx
  cbw
  cwde
  cdqe
  cwd
  cdq
  mov rax, 5
  mov rcx, 5
  mov rdx, 9
  cmpxchg rcx, rdx                 ; equal: RCX = RDX
  cmpxchg rdx, rbx                 ; not equal: RAX = RDX
  xchg rcx, rax                    ; 48 91
  xchg eax, edx                    ; 92
  xchg r8, rax                     ; 49 90
  xchg rbx, r9
  xchg ah, bl
  xadd rcx, rdx
  lahf
  mov ah, 0xd5
  sahf
  mov bh, 0x7f
  add bh, ah
  setc ch
  movzx esi, dh
  mov ax, -1
  mov sil, 0x5a
  mov r10b, 1
  bswap r10
  lea rbx, [rel table]
  mov al, 3
  xlatb
  ; CPUID, RDTSC, RDMSR, WRMSR and the FS/GS bases
  mov eax, 1
  xor ecx, ecx
  cpuid
  xor eax, eax
  cpuid
  rdtsc
  mov ecx, 0xc0000080              ; EFER
  rdmsr
  mov ecx, 0xc0000100              ; FS base
  mov eax, 0x12345000
  xor edx, edx
  wrmsr
  mov ecx, 0xc0000102              ; kernel GS base
  mov eax, 0x777000
  wrmsr
  swapgs
  mov eax, 0x10
  mov fs, ax                       ; selector, base 0
  push fs
  pop gs
  ; stack and calls
  push rax
  push qword 0x55
  pop rcx
  pop rdx
  pushfq
  popfq
  call sub1
  enter 32, 0
  leave
  push qword 0x08
  lea rax, [rel after_retf]
  push rax
  retfq
after_retf:
  jmp far dword [rel far_ptr]       ; m16:32
after_far:
  ; string instructions and loops
  lea rsi, [rel table]
  lea rdi, [rel buf]
  mov ecx, 5
  rep movsb
  mov ecx, 3
  xor eax, eax
  rep stosq
  lea rsi, [rel table]
  lodsb
  lodsq
  lea rdi, [rel table]
  mov al, 4
  mov ecx, 8
  repne scasb
  lea rsi, [rel table]
  lea rdi, [rel table]
  mov ecx, 4
  repe cmpsb
  mov ecx, 4
l1:
  loop l1
  jrcxz l2
l2:
  ; control registers
  mov rax, cr4
  or rax, 4                        ; CR4.TSD
  mov cr4, rax
  and rax, ~4
  mov cr4, rax
  mov rax, 0xdead000
  mov cr2, rax
  mov rax, cr3
  mov cr3, rax
  ; SYSCALL (returns by JMP RCX, at CPL 0)
  mov ecx, 0xc0000081              ; STAR: SYSCALL CS = 0x08, SS = 0x10
  xor eax, eax
  mov edx, 0x00080008
  wrmsr
  mov ecx, 0xc0000082              ; LSTAR
  lea rax, [rel syscall_entry]
  mov rdx, rax
  shr rdx, 32
  wrmsr
  mov ecx, 0xc0000084              ; FMASK
  mov eax, 0x200
  xor edx, edx
  wrmsr
  syscall
  ; exceptions and INT n: each handler changes R14 and R15
  lea rax, [rel after_de]
  mov [rel resume], rax
  xor ecx, ecx
  div ecx                          ; #DE
after_de:
  mov r8, 1
  int3
  mov r8, 2
  int 0x80
  mov r8, 3
  lea rax, [rel after_ud]
  mov [rel resume], rax
  ud2
after_ud:
  mov r8, 4
  lea rax, [rel after_pf]
  mov [rel resume], rax
  mov rcx, 0x100000000
  mov rax, [rcx]                   ; #PF: CR2
after_pf:
  mov r8, 5
  lea rax, [rel after_gp]
  mov [rel resume], rax
  mov ecx, 0x12345                 ; no such MSR
  rdmsr                            ; #GP(0)
after_gp:
  mov r8, 6
  lea rax, [rel after_iret]
  mov rcx, rsp
  push qword 0x10
  push rcx
  push qword 0x246
  push qword 0x08
  push rax
  iretq
after_iret:
  mov ebx, 0x600d
  hlt

sub1:
  mov r11, rsp
  ret

set_gate:                          ; EAX = vector, RSI = handler
  shl eax, 4
  lea rdi, [IDT + rax]
  mov [rdi], si
  mov word [rdi + 2], 0x08
  mov word [rdi + 4], 0x8e00
  mov rax, rsi
  shr rax, 16
  mov [rdi + 6], ax
  shr rax, 16
  mov [rdi + 8], eax
  ret

de_handler:
fault_handler:                     ; no error code
  add r15, 1
  mov r14, [rel resume]
  mov [rsp], r14
  iretq
fault_ec_handler:                  ; with an error code
  add r15, 0x10
  add rsp, 8
  mov r14, [rel resume]
  mov [rsp], r14
  iretq
trap_handler:
  add r15, 0x100
  mov r14, rsp
  iretq
syscall_entry:
  add r15, 0x1000
  push r11
  popfq
  jmp rcx

align 8
idtr: dw 0xfff
      dq IDT
far_ptr: dd after_far
         dw 0x08
resume: dq 0
table: db 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16
buf: times 64 db 0
)";

}  // namespace

TEST_CASE("the register-write candidates: operands only for plain instructions, everything for the others") {
  Insn in{};
  in.mnemonic = ZYDIS_MNEMONIC_ADD;
  in.nops = 2;
  in.op[0] = Operand{OpKind::Reg, 8, 3, 0};
  in.op[1] = Operand{OpKind::Mem, 8, 0, 0};
  CHECK(gpr_write_candidates(in) == 1u << 3);
  in.op[1] = Operand{OpKind::Reg, 1, reg::AH + 2, 0};  // DH
  CHECK(gpr_write_candidates(in) == ((1u << 3) | (1u << 2)));
  in.mnemonic = ZYDIS_MNEMONIC_MUL;
  in.nops = 1;
  in.op[0] = Operand{OpKind::Reg, 8, 9, 0};
  CHECK(gpr_write_candidates(in) == ((1u << 9) | 1u | (1u << 2)));  // and RDX:RAX
  in.mnemonic = ZYDIS_MNEMONIC_CMPXCHG;
  CHECK(gpr_write_candidates(in) == ((1u << 9) | 1u));
  in.mnemonic = ZYDIS_MNEMONIC_MOV;
  in.nops = 2;
  in.op[0] = Operand{OpKind::Reg, 2, reg::SEG0 + 3, 0};  // MOV DS, ...
  CHECK(gpr_write_candidates(in) == ALL_REGS);
  in.op[0] = Operand{OpKind::Reg, 8, reg::CR0 + 3, 0};  // MOV CR3, ...
  CHECK(gpr_write_candidates(in) == ALL_REGS);
  in.op[0] = Operand{OpKind::Reg, 8, 0, 0};
  in.mnemonic = ZYDIS_MNEMONIC_JMP;
  in.far_branch = 1;
  CHECK(gpr_write_candidates(in) == ALL_REGS);
  in.far_branch = 0;
  for (ZydisMnemonic m : {ZYDIS_MNEMONIC_PUSH, ZYDIS_MNEMONIC_POP, ZYDIS_MNEMONIC_CPUID, ZYDIS_MNEMONIC_RDMSR,
                          ZYDIS_MNEMONIC_MOVSB, ZYDIS_MNEMONIC_CALL, ZYDIS_MNEMONIC_SYSCALL, ZYDIS_MNEMONIC_CDQ,
                          ZYDIS_MNEMONIC_LOOP, ZYDIS_MNEMONIC_SWAPGS, ZYDIS_MNEMONIC_XLAT}) {
    in.mnemonic = uint16_t(m);
    CHECK(gpr_write_candidates(in) == ALL_REGS);
  }
}

// The inline step (a Regs record of candidate GPRs and RFLAGS, then the
// instruction) against encode() of the same Records: every LEB128 length,
// both signs, CPU switches and the staging area filling up many times
// (20000 steps of about 25 bytes; it holds 64 KiB).
TEST_CASE("encode_candidate_regs_and_insn writes the bytes encode() writes for the same records") {
  std::mt19937_64 rng(20261122);
  const auto value = [&] {
    switch (rng() % 4) {
      case 0: return uint64_t(1) << (rng() % 64);
      case 1: return uint64_t(rng() >> (rng() % 64));
      default: return uint64_t(rng());
    }
  };
  TraceEncoder fast, slow;
  struct CpuRegs {
    uint64_t gpr[16] = {}, rflags = 0, icount = 0, rip = 0x1000;
    std::array<uint64_t, treg::COUNT> last{};  // as of the last Regs record
  };
  std::vector<CpuRegs> cpus(3);
  const uint8_t code[4][15] = {{0x90}, {0x48, 0x01, 0xd8}, {0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8}, {0x0f, 0x05}};
  const unsigned lens[4] = {1, 3, 10, 2};
  for (int step = 0; step < 20000; ++step) {
    const uint32_t cpu = rng() % 50 == 0 ? uint32_t(rng() % 3) : 0;
    CpuRegs& c = cpus[cpu];
    uint32_t candidates = 0;
    for (unsigned k = 0, n = unsigned(rng() % 4); k < n; ++k) {
      const unsigned r = unsigned(rng() % 16);
      candidates |= 1u << r;
      if (rng() % 4) c.gpr[r] = value();  // a candidate need not change
    }
    if (rng() % 2) c.rflags = value();
    ++c.icount;
    const unsigned form = unsigned(rng() % 4);
    if (rng() % 8 == 0) c.rip += rng() % 64;  // a taken branch: an explicit address
    const uint64_t rip = c.rip, phys = rip ^ 0x100000;
    c.rip += lens[form];
    // The first step of each CPU goes the full way (as the recorder's does).
    const bool first = c.last[treg::CR0] == 0;
    if (first) {
      uint64_t sys[treg::COUNT - treg::CR0] = {1};  // CR0 = 1: a marker that the CPU was seen
      fast.encode_changed_regs(cpu, c.icount, c.gpr, c.rflags, sys, true);
      fast.encode_insn(cpu, c.icount, rip, phys, code[form], lens[form]);
    } else {
      fast.encode_candidate_regs_and_insn(cpu, c.icount, c.gpr, c.rflags, candidates, rip, phys, code[form],
                                          lens[form]);
    }
    Record r;
    r.kind = Kind::Regs, r.cpu = cpu, r.icount = c.icount;
    for (unsigned i = 0; i < treg::COUNT; ++i) {
      const uint64_t v = i < 16 ? c.gpr[i] : i == treg::RFLAGS ? c.rflags : i == treg::CR0 ? 1 : 0;
      if (first || v != c.last[i]) r.regs.push_back(RegValue{uint8_t(i), v});
      c.last[i] = v;
    }
    if (!r.regs.empty()) slow.encode(r);
    Record in;
    in.kind = Kind::Insn, in.cpu = cpu, in.icount = c.icount, in.rip = rip, in.phys = phys;
    in.len = uint8_t(lens[form]);
    std::memcpy(in.bytes, code[form], lens[form]);
    slow.encode(in);
    if (step % 97 == 0 || step == 19999) {
      INFO("step " << step);
      REQUIRE(fast.buffer() == slow.buffer());
    }
  }
  CHECK(fast.buffer().size() > 200000);
}

TEST_CASE("--record-regs: implicit writers, exceptions and far transfers are recorded as a full compare does") {
  const Recorded r = record_both(test::assemble_nasm(kImplicitWriters), FlatMode::Long64, 0x10000, 100000);
  REQUIRE(r.out.stop == StopReason::Hlt);
  CHECK(r.out.state.gpr[3] == 0x600d);  // RBX: the kernel got to its end
  CHECK(r.out.state.gpr[15] == 0x1000 + 0x100 * 2 + 0x10 * 2 + 1 * 2);  // R15: each handler ran once
  CHECK(r.fast.size() > 1000);
  require_same_records(r);
}

TEST_CASE("--record-regs: the guest-program corpus is recorded as a full compare does") {
  unsigned compared = 0;
  for (const corpus::Program& p : corpus::load_corpus()) {
    if (!p.header_errors.empty()) continue;  // not a corpus program (e.g. an L1 kernel run by its own test)
    FlatMode mode;
    REQUIRE(parse_flat_mode(p.mode, mode));
    const std::string img = corpus::slurp(p.bin);
    INFO(p.name);
    const Recorded r = record_both(std::vector<uint8_t>(img.begin(), img.end()), mode, p.load, p.max_insns);
    require_same_records(r);
    ++compared;
  }
  CHECK(compared >= 40);
}

namespace {

std::string softvt_bin() {
  const char* v = std::getenv("SOFTVT");
  REQUIRE(v);
  return v;
}

// Records `run_args` with --record-regs --record-mem and replays it: the
// replay's checker compares all registers before every instruction.
void record_and_replay(const std::string& run_args, const std::string& name) {
  const std::string t = tmp_path(name + ".trace");
  const test::CliResult r = test::shell(softvt_bin() + " run " + run_args + " --record " + t +
                                        " --record-regs --record-mem");
  INFO(r.out << r.err);
  // The run's own status is the guest's (pc_devices ends through
  // isa-debug-exit, status 33): the recording must exist and retrace.
  REQUIRE(file_bytes(t).size() > 1000);
  const test::CliResult p = test::shell(softvt_bin() + " replay " + t);
  INFO(p.out << p.err);
  CHECK(p.status == 0);
  std::remove(t.c_str());
}

}  // namespace

TEST_CASE("--record-regs: PC multiboot kernels (one and two CPUs) and VMX/SVM L1 kernels retrace under the full-compare checker") {
  const std::string kernels = corpus::env_or_empty("SOFTVT_KERNEL_DIR");
  const std::string guests = corpus::env_or_empty("SOFTVT_GUEST_DIR");
  REQUIRE(!kernels.empty());
  REQUIRE(!guests.empty());
  record_and_replay("--kernel " + kernels + "/pc_devices.elf --serial none", "pc");
  record_and_replay("--kernel " + kernels + "/apic_smp.elf --smp 2 --serial none", "smp");  // CPUs take turns
  record_and_replay("--flat " + guests + "/vmx_exits_long64.bin", "vmx_exits");
  record_and_replay("--flat " + guests + "/vmx_events_long64.bin", "vmx_events");
  record_and_replay("--flat " + guests + "/svm_guest_long64.bin --cpu amd", "svm_guest");
}
