// Random test cases for differential testing (DESIGN.md "Tests":
// differential fuzzing). A case is a flat image for one mode:
//   prologue  RSP and the data pointer RBX set up, the data area filled with
//             random bytes, the arithmetic flags set to random values (DF =
//             0) through PUSH imm / POPF, every other GPR set to a random
//             edge-biased value;
//   body      K random instructions drawn from the instruction table, each
//             with the fixups that keep it inside the comparable space
//             (emu/fuzz/constraints.h) - one "unit" per random instruction;
//             With x87/SSE rows (uses_fp_state): a random x87/MMX/SSE state
//             (FCW, FSW, tags, ST/MM and XMM registers, MXCSR, biased to
//             special values) loaded from kFpImage with FXRSTOR;
//   epilogue  every GPR and PUSHF's image stored to the result area (and
//             the FXSAVE image at kFpResult), HLT.
// Everything derives from the 64-bit seed through emu/fuzz/prng.h, so the
// same seed and the same instruction table give the same bytes anywhere.
#pragma once
#include <Zydis/Zydis.h>

#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "emu/fuzz/encoding.h"
#include "emu/fuzz/exclusions.h"
#include "emu/fuzz/flag_model.h"
#include "emu/loader/flat.h"

namespace softvt::fuzz {

constexpr unsigned kMaxInsns = 1000;
constexpr unsigned kDefaultInsns = 24;

struct GenConfig {
  FlatMode mode = FlatMode::Long64;
  unsigned insns = kDefaultInsns;   // random instructions (units) in the body
  Oracles oracles;                  // restrict to what the oracles can compare
  std::set<ZydisMnemonic> avoid;    // never generate these (an oracle cannot run them)
};

// Whether a case loads a random x87/MMX/SSE state in its prologue (FXRSTOR)
// and stores it in its epilogue (FXSAVE) for the comparison: not with the
// KVM oracle, whose instruction emulator on this host cannot run FXRSTOR
// and FXSAVE at CPL 0 (the x87/SIMD rows are excluded for it as well).
inline bool uses_fp_state(const GenConfig& c) { return !c.oracles.kvm; }

enum class Role : uint8_t {
  Setup,    // a fixup before the random instruction (a MOV)
  Main,     // the random instruction
  Restore,  // a fixup after it: puts RBX/RSP back (a MOV)
};

struct BodyInsn {
  Bytes bytes;
  uint32_t offset = 0;       // from kLoad
  ZydisMnemonic mnemonic = ZYDIS_MNEMONIC_INVALID;
  int row = -1;              // instruction-table row (Insn::row), -1 if none
  Role role = Role::Main;
  uint32_t unit = 0;
  FlagEffect flags;
  // Forward branch: where its displacement lies in `bytes`, and the unit it
  // skips to (units.size() = the epilogue).
  uint8_t rel_pos = 0, rel_size = 0;
  uint32_t target_unit = 0;
  bool is_branch() const { return rel_size != 0; }
};

struct Unit {
  uint32_t first = 0;   // index of its first instruction in TestCase::body
  uint32_t main = 0;    // index of its random instruction
  uint32_t end = 0;     // one past its last instruction
  uint64_t sp_before = 0, sp_after = 0;  // RSP register value around it
};

struct TestCase {
  uint64_t seed = 0;
  GenConfig config;
  Bytes prologue;             // at kLoad
  std::vector<BodyInsn> body; // contiguous after the prologue
  std::vector<Unit> units;
};

struct GenerateError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws GenerateError when the configuration leaves nothing to generate.
TestCase generate(uint64_t seed, const GenConfig& cfg);

// Mnemonics of the rows the generator draws from for this configuration.
std::vector<ZydisMnemonic> eligible_mnemonics(const GenConfig& cfg);

// The body cut after `cut` instructions, then the epilogue: what a backend
// runs. The full case is cut = body.size().
struct CaseImage {
  FlatMode mode = FlatMode::Long64;
  uint32_t cut = 0;
  Bytes code;                    // at kLoad
  uint32_t epilogue_offset = 0;  // from kLoad
  uint64_t final_sp = 0;         // RSP register value when the epilogue starts
  uint32_t undefined_flags = 0;  // flags possibly undefined at the epilogue
  bool fp_state = false;         // the epilogue stores an FXSAVE image at kFpResult
};

// Instruction counts at which the body may be cut: before each unit, after
// each unit's setup fixups, and the whole body (last). Cutting between a
// random instruction and its restores would leave RBX/RSP broken.
std::vector<uint32_t> cut_points(const TestCase& c);
CaseImage link(const TestCase& c, uint32_t cut);
inline CaseImage link(const TestCase& c) { return link(c, uint32_t(c.body.size())); }

// The unit containing body instruction `index`.
inline const Unit& unit_of(const TestCase& c, uint32_t index) { return c.units[c.body[index].unit]; }

}  // namespace softvt::fuzz
