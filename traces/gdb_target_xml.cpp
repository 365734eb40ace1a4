// Registers and the target description for gdb (gdb manual, "Target
// Description Format", "i386 Features"; register order: gdb's amd64 layout).
#include "traces/gdb_target_xml.h"

#include <cstring>
#include <vector>

#include "emu/cpu.h"
#include "emu/fpu_state.h"

namespace softvt::gdb {
namespace {

enum Feature : unsigned { CORE, SSE, SEGMENTS, SYSTEM, FEATURE_COUNT };
const char* const kFeatureNames[FEATURE_COUNT] = {
    "org.gnu.gdb.i386.core", "org.gnu.gdb.i386.sse", "org.gnu.gdb.i386.segments", "org.softvt.x86.system"};

// Register numbers of the table below (gdb's amd64 numbering).
enum Reg : unsigned {
  R_RAX, R_RBX, R_RCX, R_RDX, R_RSI, R_RDI, R_RBP, R_RSP,
  R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15,
  R_RIP, R_EFLAGS, R_CS, R_SS, R_DS, R_ES, R_FS, R_GS,
  R_ST0, R_FCTRL = R_ST0 + 8, R_FSTAT, R_FTAG, R_FISEG, R_FIOFF, R_FOSEG, R_FOOFF, R_FOP,
  R_XMM0, R_MXCSR = R_XMM0 + 16, R_FS_BASE, R_GS_BASE,
  R_CR0, R_CR2, R_CR3, R_CR4, R_CR8, R_EFER, R_COUNT
};

std::vector<RegisterInfo> make_table() {
  std::vector<RegisterInfo> t;
  static const char* const gprs[16] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                                       "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  for (unsigned i = 0; i < 16; ++i)
    t.push_back({gprs[i], 64, i == 6 || i == 7 ? "data_ptr" : "int64", "general", CORE});
  t.push_back({"rip", 64, "code_ptr", "general", CORE});
  t.push_back({"eflags", 32, "i386_eflags", "general", CORE});
  for (const char* s : {"cs", "ss", "ds", "es", "fs", "gs"}) t.push_back({s, 32, "int32", "general", CORE});
  static const char* const sts[8] = {"st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7"};
  for (const char* s : sts) t.push_back({s, 80, "i387_ext", "float", CORE});
  for (const char* s : {"fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"})
    t.push_back({s, 32, "int", "float", CORE});
  static const char* const xmms[16] = {"xmm0", "xmm1", "xmm2",  "xmm3",  "xmm4",  "xmm5",  "xmm6",  "xmm7",
                                       "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"};
  for (const char* s : xmms) t.push_back({s, 128, "vec128", "vector", SSE});
  t.push_back({"mxcsr", 32, "i386_mxcsr", "vector", SSE});
  t.push_back({"fs_base", 64, "int", nullptr, SEGMENTS});
  t.push_back({"gs_base", 64, "int", nullptr, SEGMENTS});
  for (const char* s : {"cr0", "cr2", "cr3", "cr4", "cr8", "efer"}) t.push_back({s, 64, "int64", "system", SYSTEM});
  return t;
}

const std::vector<RegisterInfo>& table() {
  static const std::vector<RegisterInfo> t = make_table();
  return t;
}

// gdb's register order of the GPRs -> softvt's encoding order.
constexpr uint8_t kGprIndex[16] = {RAX, RBX, RCX, RDX, RSI, RDI, RBP, RSP,
                                   R8,  R9,  R10, R11, R12, R13, R14, R15};
constexpr uint8_t kSegIndex[6] = {CS, SS, DS, ES, FS, GS};

// Types the features use, written once (flag names: SDM Vol. 1 3.4.3 and
// 10.2.3).
const char* const kCoreTypes = R"(
  <flags id="i386_eflags" size="4">
    <field name="CF" start="0" end="0"/><field name="" start="1" end="1"/>
    <field name="PF" start="2" end="2"/><field name="AF" start="4" end="4"/>
    <field name="ZF" start="6" end="6"/><field name="SF" start="7" end="7"/>
    <field name="TF" start="8" end="8"/><field name="IF" start="9" end="9"/>
    <field name="DF" start="10" end="10"/><field name="OF" start="11" end="11"/>
    <field name="NT" start="14" end="14"/><field name="RF" start="16" end="16"/>
    <field name="VM" start="17" end="17"/><field name="AC" start="18" end="18"/>
    <field name="VIF" start="19" end="19"/><field name="VIP" start="20" end="20"/>
    <field name="ID" start="21" end="21"/>
  </flags>
)";
const char* const kSseTypes = R"(
  <vector id="v4f" type="ieee_single" count="4"/>
  <vector id="v2d" type="ieee_double" count="2"/>
  <vector id="v16i8" type="int8" count="16"/>
  <vector id="v8i16" type="int16" count="8"/>
  <vector id="v4i32" type="int32" count="4"/>
  <vector id="v2i64" type="int64" count="2"/>
  <union id="vec128">
    <field name="v4_float" type="v4f"/><field name="v2_double" type="v2d"/>
    <field name="v16_int8" type="v16i8"/><field name="v8_int16" type="v8i16"/>
    <field name="v4_int32" type="v4i32"/><field name="v2_int64" type="v2i64"/>
    <field name="uint128" type="uint128"/>
  </union>
  <flags id="i386_mxcsr" size="4">
    <field name="IE" start="0" end="0"/><field name="DE" start="1" end="1"/>
    <field name="ZE" start="2" end="2"/><field name="OE" start="3" end="3"/>
    <field name="UE" start="4" end="4"/><field name="PE" start="5" end="5"/>
    <field name="DAZ" start="6" end="6"/><field name="IM" start="7" end="7"/>
    <field name="DM" start="8" end="8"/><field name="ZM" start="9" end="9"/>
    <field name="OM" start="10" end="10"/><field name="UM" start="11" end="11"/>
    <field name="PM" start="12" end="12"/><field name="FZ" start="15" end="15"/>
  </flags>
)";

std::string make_xml() {
  std::string x =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n"
      "  <architecture>i386:x86-64</architecture>\n";
  const auto& t = table();
  for (unsigned f = 0; f < FEATURE_COUNT; ++f) {
    x += std::string("  <feature name=\"") + kFeatureNames[f] + "\">\n";
    if (f == CORE) x += kCoreTypes;
    if (f == SSE) x += kSseTypes;
    for (unsigned r = 0; r < t.size(); ++r) {
      if (t[r].feature != f) continue;
      x += std::string("    <reg name=\"") + t[r].name + "\" bitsize=\"" + std::to_string(t[r].bits) +
           "\" type=\"" + t[r].type + "\" regnum=\"" + std::to_string(r) + "\"";
      if (t[r].group) x += std::string(" group=\"") + t[r].group + "\"";
      x += "/>\n";
    }
    x += "  </feature>\n";
  }
  x += "</target>\n";
  return x;
}

template <typename T>
std::string le_bytes(T v) {
  std::string b(sizeof(T), '\0');
  std::memcpy(b.data(), &v, sizeof(T));
  return b;
}

uint64_t le_value(const uint8_t* b, size_t n) {
  uint64_t v = 0;
  std::memcpy(&v, b, n < 8 ? n : 8);
  return v;
}

template <typename T>
T fx(const Cpu& cpu, size_t off) {
  T v;
  std::memcpy(&v, cpu.s.xsave + off, sizeof(T));
  return v;
}

// x87 register classes for the full tag word (SDM Vol. 1 Table 8-7 and
// the FXSAVE tag reconstruction of 10.5.1.1): 00 valid, 01 zero, 10 special.
unsigned classify_x87(const uint8_t* reg) {
  uint64_t mant;
  uint16_t se;
  std::memcpy(&mant, reg, 8);
  std::memcpy(&se, reg + 8, 2);
  const unsigned exp = se & 0x7fff;
  if (exp == 0x7fff) return 2;                  // infinity, NaN
  if (exp == 0) return mant == 0 ? 1 : 2;       // zero; denormal
  return (mant >> 63) ? 0 : 2;                  // normal; unnormal
}

void write_fx16(Cpu& cpu, size_t off, uint64_t v) {
  const uint16_t w = uint16_t(v);
  std::memcpy(cpu.s.xsave + off, &w, 2);
}

// State other registers are derived from changed: re-derive (mode, TLB).
void derived_state_changed(Cpu& cpu) {
  cpu.update_mode();
  cpu.flush_tlb();
}

}  // namespace

std::span<const RegisterInfo> registers() { return table(); }

const std::string& target_xml() {
  static const std::string x = make_xml();
  return x;
}

uint16_t full_tag_word(const Cpu& cpu) {
  const uint8_t abridged = fx<uint8_t>(cpu, fxs::FTW);
  const unsigned top = (fx<uint16_t>(cpu, fxs::FSW) >> 11) & 7;
  uint16_t tw = 0;
  for (unsigned phys = 0; phys < 8; ++phys) {
    unsigned tag = 3;
    if (abridged & (1u << phys)) tag = classify_x87(cpu.s.xsave + fxs::ST0 + 16 * ((phys - top) & 7));
    tw |= uint16_t(tag << (2 * phys));
  }
  return tw;
}

bool read_register(const Cpu& cpu, unsigned r, std::string& b) {
  const CpuState& s = cpu.s;
  if (r < R_RIP) b = le_bytes(s.gpr[kGprIndex[r]]);
  else if (r == R_RIP) b = le_bytes(s.rip);
  else if (r == R_EFLAGS) b = le_bytes(uint32_t(s.rflags));
  else if (r <= R_GS) b = le_bytes(uint32_t(s.seg[kSegIndex[r - R_CS]].sel));
  else if (r < R_FCTRL) b.assign(reinterpret_cast<const char*>(s.xsave + fxs::ST0 + 16 * (r - R_ST0)), 10);
  else if (r == R_FCTRL) b = le_bytes(uint32_t(fx<uint16_t>(cpu, fxs::FCW)));
  else if (r == R_FSTAT) b = le_bytes(uint32_t(fx<uint16_t>(cpu, fxs::FSW)));
  else if (r == R_FTAG) b = le_bytes(uint32_t(full_tag_word(cpu)));
  else if (r == R_FISEG) b = le_bytes(uint32_t(fx<uint16_t>(cpu, fxs::FCS)));
  else if (r == R_FIOFF) b = le_bytes(fx<uint32_t>(cpu, fxs::FIP));
  else if (r == R_FOSEG) b = le_bytes(uint32_t(fx<uint16_t>(cpu, fxs::FDS)));
  else if (r == R_FOOFF) b = le_bytes(fx<uint32_t>(cpu, fxs::FDP));
  else if (r == R_FOP) b = le_bytes(uint32_t(fx<uint16_t>(cpu, fxs::FOP) & 0x7ff));
  else if (r < R_MXCSR) b.assign(reinterpret_cast<const char*>(s.xsave + fxs::XMM0 + 16 * (r - R_XMM0)), 16);
  else if (r == R_MXCSR) b = le_bytes(fx<uint32_t>(cpu, fxs::MXCSR));
  else if (r == R_FS_BASE) b = le_bytes(s.seg[FS].base);
  else if (r == R_GS_BASE) b = le_bytes(s.seg[GS].base);
  else if (r == R_CR0) b = le_bytes(s.cr0);
  else if (r == R_CR2) b = le_bytes(s.cr2);
  else if (r == R_CR3) b = le_bytes(s.cr3);
  else if (r == R_CR4) b = le_bytes(s.cr4);
  else if (r == R_CR8) b = le_bytes(s.cr8);
  else if (r == R_EFER) b = le_bytes(s.efer);
  else return false;
  return true;
}

bool write_register(Cpu& cpu, unsigned r, const uint8_t* b, size_t n) {
  if (r >= R_COUNT || n != table()[r].bits / 8) return false;
  CpuState& s = cpu.s;
  const uint64_t v = le_value(b, n);
  if (r < R_RIP) s.gpr[kGprIndex[r]] = v;
  else if (r == R_RIP) s.rip = v;
  else if (r == R_EFLAGS) {
    s.rflags = (v & 0xffffffffu) | fl::FIXED1;
    cpu.update_mode();
  } else if (r <= R_GS) s.seg[kSegIndex[r - R_CS]].sel = uint16_t(v);
  else if (r < R_FCTRL) std::memcpy(s.xsave + fxs::ST0 + 16 * (r - R_ST0), b, 10);
  else if (r == R_FCTRL) write_fx16(cpu, fxs::FCW, v);
  else if (r == R_FSTAT) write_fx16(cpu, fxs::FSW, v);
  else if (r == R_FTAG) {
    uint8_t abridged = 0;  // a register is valid unless its tag is 11 (empty)
    for (unsigned i = 0; i < 8; ++i)
      if (((v >> (2 * i)) & 3) != 3) abridged |= uint8_t(1u << i);
    s.xsave[fxs::FTW] = abridged;
  } else if (r == R_FISEG) write_fx16(cpu, fxs::FCS, v);
  else if (r == R_FIOFF) std::memcpy(s.xsave + fxs::FIP, b, 4);
  else if (r == R_FOSEG) write_fx16(cpu, fxs::FDS, v);
  else if (r == R_FOOFF) std::memcpy(s.xsave + fxs::FDP, b, 4);
  else if (r == R_FOP) write_fx16(cpu, fxs::FOP, v & 0x7ff);
  else if (r < R_MXCSR) std::memcpy(s.xsave + fxs::XMM0 + 16 * (r - R_XMM0), b, 16);
  else if (r == R_MXCSR) std::memcpy(s.xsave + fxs::MXCSR, b, 4);
  else if (r == R_FS_BASE) s.seg[FS].base = v;
  else if (r == R_GS_BASE) s.seg[GS].base = v;
  else if (r == R_CR2) s.cr2 = v;
  else if (r == R_CR8) s.cr8 = v & 0xf;
  else {
    if (r == R_CR0) s.cr0 = v;
    else if (r == R_CR3) s.cr3 = v;
    else if (r == R_CR4) s.cr4 = v;
    else s.efer = v;
    derived_state_changed(cpu);
  }
  return true;
}

}  // namespace softvt::gdb
