// The exit information in words (svm/exit_text.h).
#include "svm/exit_text.h"

#include <cstdio>

#include "svm/controls.h"
#include "svm/npt.h"
#include "svm/vmcb.h"

namespace softvt::svm {
namespace {

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%llxh", static_cast<unsigned long long>(v));
  return b;
}

// EXITINFO1 of IOIO (APM 15.10.2, Figure 15-2): TYPE (bit 0, 1 = IN), STR
// (2), REP (3), SZ8/SZ16/SZ32 (4-6), the port (31:16).
std::string ioio_words(uint64_t info1) {
  std::string s = (info1 & 8) ? "REP " : "";
  s += (info1 & 1) ? "IN" : "OUT";
  if (info1 & 4) s += "S";
  const unsigned size = (info1 & 0x10) ? 1 : (info1 & 0x20) ? 2 : 4;
  return s + " port " + hex((info1 >> 16) & 0xffff) + ", " + std::to_string(size) + (size == 1 ? " byte" : " bytes");
}

// EXITINFO1/EXITINFO2 of NPF (APM 15.25.6).
std::string npf_words(uint64_t info1, uint64_t info2) {
  std::string s = "guest-physical " + hex(info2) + ": ";
  s += (info1 & npf::P) ? "protection" : "not present";
  if (info1 & npf::RSV) s += ", reserved bit";
  s += (info1 & npf::RW) ? ", write" : ", read";
  if (info1 & npf::ID) s += ", fetch";
  if (info1 & npf::GUEST_PAGE) s += ", guest page-table access";
  if (info1 & npf::FINAL) s += ", final address";
  return s;
}

// EXITINTINFO (EVENTINJ's format, APM 15.20).
std::string event_words(uint64_t info) {
  static const char* const kTypes[8] = {"external interrupt", "type 1", "NMI", "exception",
                                        "software interrupt", "type 5", "type 6", "type 7"};
  std::string s = std::string(kTypes[(info & eventinj::TYPE_MASK) >> eventinj::TYPE_SHIFT]) + " " +
                  hex(info & eventinj::VECTOR);
  if (info & eventinj::EV) s += " (error code " + hex(info >> 32) + ")";
  return s;
}

std::string info_words(uint64_t code, uint64_t info1, uint64_t info2) {
  if (code == exit_code::IOIO) return ioio_words(info1);
  if (code == exit_code::MSR) return info1 ? "WRMSR" : "RDMSR";
  if (code == exit_code::NPF) return npf_words(info1, info2);
  if (code == exit_code::TASK_SWITCH) {
    std::string s = "to TSS selector " + hex(info1 & 0xffff);
    if (info2 & task_switch_info::IRET) s += " by IRET";
    if (info2 & task_switch_info::JMP) s += " by JMP";
    if (info2 & task_switch_info::HAS_ERROR_CODE) s += ", error code " + hex(info2 & 0xffffffff);
    return s;
  }
  if (code >= exit_code::EXCP_BASE && code < exit_code::EXCP_BASE + 32) {
    std::string s = "error code " + hex(info1);
    if (code == exit_code::EXCP_BASE + 14) s += ", address " + hex(info2);
    return s;
  }
  // MOV CRn/DRn with decode assists: bit 63 and the GPR (APM 15.9).
  if (code < exit_code::EXCP_BASE && (info1 >> 63)) return "MOV, GPR " + std::to_string(info1 & 0xf);
  return "";
}

}  // namespace

std::string exit_details(uint64_t code, uint64_t info1, uint64_t info2, uint64_t exitintinfo) {
  std::string s = info_words(code, info1, info2);
  if (exitintinfo & eventinj::V) s += (s.empty() ? "" : "; ") + std::string("during ") + event_words(exitintinfo);
  return s;
}

}  // namespace softvt::svm
