// Comparing one test case on two backends (DESIGN.md "Tests": differential
// fuzzing), and on a mismatch bisecting the body to the first instruction
// after which the backends disagree.
//
// What is compared when both runs reach the HLT: the general-purpose
// registers (the low 32 bits outside long mode), RIP, the arithmetic flags
// and DF except those possibly undefined (emu/fuzz/flag_model.h), the data
// area, the result area (its flags slot masked the same way) and the stack
// from 128 bytes below the final RSP (a red zone: the native oracle's
// signal delivery may write below it) up, minus the slot the epilogue's
// PUSHF wrote (it holds IF and the undefined flags).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "emu/fuzz/backends.h"
#include "emu/fuzz/generator.h"

namespace softvt::fuzz {

struct Difference {
  std::string what;  // "rax", "rflags", "mem 0x1a100..0x1a107", "end"
  std::string a, b;
};

std::vector<Difference> compare_runs(const CaseImage& img, const BackendRun& a, const BackendRun& b);

// Whether every difference is in the FXSAVE image's FOP/FIP/FDP: this AMD
// host's XSAVE keeps them across a context switch only while an x87
// exception is pending (what Linux calls X86_BUG_FXSAVE_LEAK), so a native
// run preempted between the instruction and the epilogue shows zeros. The
// campaign reruns the case on the oracle before it counts.
bool only_x87_pointers(const std::vector<Difference>& diffs);

// Result of bisecting over the cut points: the body instructions
// [first, end) are a step such that the property (the runs differ, or a
// backend fails) is false for the body cut at `first` and true for the body
// cut at `end`. Binary search finds the first such step when, as usual, a
// divergence persists once it appears; otherwise it finds one of them.
struct Bisection {
  bool found = false;
  uint32_t first = 0, end = 0;
  std::string note;  // why not found
};

enum class Probe : uint8_t { Good, Bad, Unknown };
// `probe(cut)` says whether the body cut after `cut` instructions shows
// the property; the full body is known to be Bad.
Bisection bisect(const TestCase& c, const std::function<Probe(uint32_t cut)>& probe);

// The instructions of a bisected step: address, bytes (as linked in `img`,
// which must include them) and disassembly, one per line.
std::string describe_step(const TestCase& c, const CaseImage& img, const Bisection& b);
std::string describe_differences(const std::vector<Difference>& diffs, const std::string& name_a,
                                 const std::string& name_b);
// Listing of the whole case (prologue summarised), for --verbose.
std::string describe_case(const TestCase& c);

}  // namespace softvt::fuzz
