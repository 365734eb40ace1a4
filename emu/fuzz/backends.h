// Running a test case on one backend and collecting what the comparison
// looks at: how the run ended, the GPRs, RIP, RFLAGS and the final contents
// of the stack, data and result areas (emu/fuzz/layout.h).
//   interp  the reference interpreter (emu/accel/interp.cpp)
//   kvm     host /dev/kvm through the flat runner's machine (emu/accel/kvm.cpp)
//   kvm-user  host /dev/kvm with the case run at CPL 3 (DPL-3 flat segments
//           added to the flat runner's GDT): this host's PVM-based KVM runs
//           CPL-3 guest code on the CPU, not through its instruction
//           emulator (docs/oracles.md), so x87/SSE cases compare; long64
//           only (prot32 measured failing, real mode has no CPL 3)
//   native  the host CPU at CPL 3 in a child process (emu/accel/native.cpp):
//           long64 as 64-bit code, prot32 in compatibility mode, real16 in
//           16-bit LDT segments based at kLoad
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "emu/fuzz/generator.h"

namespace softvt::fuzz {

enum class BackendKind : uint8_t { Interp, Kvm, Native, KvmUser };

// Whether the backend runs the case's code on the host CPU at CPL 3 (the
// native oracle, and KVM with "kvm-user"): the generator then keeps to
// what CPL 3 can compare (Oracles::native).
inline bool runs_at_cpl3(BackendKind k) { return k == BackendKind::Native || k == BackendKind::KvmUser; }

bool parse_backend(const std::string& s, BackendKind& out);
const char* backend_name(BackendKind k);

struct BackendRun {
  enum class End : uint8_t {
    Hlt,    // reached the epilogue's HLT
    Fault,  // stopped by an exception (shutdown, or a signal natively)
    Limit,  // instruction limit
    Error,  // the backend itself could not run the case (not a verdict)
  };
  End end = End::Error;
  std::string detail;
  // For End::Fault: the vector of the exception that ended the run (the
  // first one the interpreter raised; the trap number the kernel reports
  // natively), -1 when the backend cannot tell (KVM).
  int vector = -1;
  uint64_t gpr[16] = {};
  uint64_t rip = 0;
  uint64_t rflags = 0;
  Bytes stack, data, result;
};
const char* end_name(BackendRun::End e);

using Backend = std::function<BackendRun(const CaseImage&)>;

Backend make_backend(BackendKind k);
// Empty when the backend can run cases in mode `m` on this host; otherwise
// why not (no /dev/kvm; for the native oracle in real16, no modify_ldt()).
std::string backend_unavailable_reason(BackendKind k, FlatMode m);

}  // namespace softvt::fuzz
