// The x86-64 register set softvt shows gdb: one table names each register
// once (its gdb name, size, type and feature), and the target description
// XML (gdb manual, "Target Descriptions", "i386 Features"), the g/G and
// p/P packets all read it, so register numbers cannot drift apart.
//
// Order = gdb's amd64 numbering: org.gnu.gdb.i386.core (rax..gs, st0-7,
// fctrl..fop), org.gnu.gdb.i386.sse (xmm0-15, mxcsr), org.gnu.gdb.i386.
// segments (fs_base, gs_base), then softvt's own feature
// org.softvt.x86.system with cr0, cr2, cr3, cr4, cr8 and efer (gdb shows
// registers of features it does not know as extra registers).
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace softvt {
class Cpu;
}

namespace softvt::gdb {

struct RegisterInfo {
  const char* name;
  unsigned bits;        // 32, 64, 80 or 128
  const char* type;     // the XML type
  const char* group;    // "general", "float", "vector", "system" or nullptr
  unsigned feature;     // index into features()
};

std::span<const RegisterInfo> registers();
// The target description document ("target.xml").
const std::string& target_xml();

// A register's bytes in target (little-endian) order; false for a number
// outside the table.
bool read_register(const Cpu& cpu, unsigned regno, std::string& bytes);
// Writes a register from exactly bits/8 bytes. Registers whose value
// determines derived state (CR0, CR4, EFER, RFLAGS, segment selectors) are
// written raw and the mode re-derived, as a debugger's "set $reg" expects;
// false for a bad number or size.
bool write_register(Cpu& cpu, unsigned regno, const uint8_t* bytes, size_t size);

// The x87 tag word in its full 16-bit form (two bits per physical register:
// 00 valid, 01 zero, 10 special, 11 empty; SDM Vol. 1 8.1.7) from the
// FXSAVE image's abridged form and the register contents (SDM Vol. 1
// 10.5.1 "FXSAVE Area", Table 10-4 for the classification).
uint16_t full_tag_word(const Cpu& cpu);

}  // namespace softvt::gdb
