// Which arithmetic flags a generated body leaves undefined, so the
// comparison masks exactly those (and the generator never lets an
// instruction read one). Per instruction, the instruction table row says
// which flags the SDM defines and which it leaves undefined; the effect is
// refined where the SDM makes it depend on the operands:
//   - shifts and rotates (SDM Vol. 2 SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR,
//     SHLD, SHRD): a masked count of 0 affects no flag; OF is defined only
//     for a count of 1; SHL/SHR leave CF undefined when the count is at
//     least the operand size (possible for 8- and 16-bit operands);
//   - an instruction that may leave its flags unchanged (Zydis reports a
//     conditional write of RFLAGS: a shift by CL that may be 0, a REP
//     CMPS/SCAS with RCX = 0) keeps the previous undefinedness of the flags
//     it defines.
// Along a forward branch the taken and fall-through paths join at the
// target; a flag is possibly undefined there if it is on either path.
#pragma once
#include <cstdint>
#include <map>

#include "emu/cpu_state.h"
#include "emu/fuzz/encoding.h"
#include "emu/interp/table.h"

namespace softvt::fuzz {

// The RFLAGS bits the differential comparison looks at.
constexpr uint32_t kComparedFlags = uint32_t(fl::ARITH | fl::DF);

struct FlagEffect {
  uint32_t tested = 0;     // flags the instruction reads
  uint32_t defined = 0;    // flags it writes with a defined value
  uint32_t undefined = 0;  // flags it leaves undefined
  bool may_keep = false;   // it may leave all its flags unchanged
};

// The effect of the decoded instruction `d` whose table row is `row`
// (nullptr: an instruction outside the table, taken to write no flags).
FlagEffect flag_effect(const InsnRow* row, const Decoded& d);

class FlagTracker {
 public:
  // Called before the instructions of unit `u`: joins the branches that
  // land there.
  void enter_unit(unsigned u);
  void apply(const FlagEffect& e);
  // A forward branch that may be taken to the start of `target_unit`, with
  // `taint` possibly undefined on that path.
  void branch_to(unsigned target_unit, uint32_t taint);
  // Flags possibly undefined at this point of the fall-through path.
  uint32_t possibly_undefined() const { return taint_; }
  // Flags possibly undefined at the epilogue when the body is cut before
  // unit `cut` (branches to units at or after the cut land on the epilogue).
  uint32_t at_cut(unsigned cut) const;

 private:
  uint32_t taint_ = 0;
  std::map<unsigned, uint32_t> pending_;  // target unit -> taint of taken paths
};

}  // namespace softvt::fuzz
