// The guest-program corpus (tests/guest/*.asm): reading the expectations a
// program states in its header, running its built image through
// `softvt run --flat` and comparing the JSON state dump with them. Shared by
// test_guest_corpus.cpp (interp) and test_guest_corpus_kvm.cpp (host KVM).
//
// Header lines (comments at the top of the .asm; every line may appear
// anywhere before the first non-comment line):
//   ; expect-mode: long64|prot32|real16       required
//   ; expect-load: 0x10000                     optional (the --load address)
//   ; expect-max-insns: N                      optional, default 10000000
//   ; expect: key=value key=value ...          one or more; keys of the JSON
//   ; expect-flags-mask: 0x...                 rflags compared under this mask
//   ; expect-mem: 0xADDR=hexbytes              repeatable
//   ; kvm: skip REASON                         not run under --accel kvm
//   ; native: skip REASON                      not run on the host CPU (test_guest_corpus_native.cpp)
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace corpus {

namespace fs = std::filesystem;

struct MemExpect {
  uint64_t addr;
  std::vector<uint8_t> bytes;
};

struct Program {
  std::string name;      // file stem, e.g. "alu_long64"
  fs::path bin;          // built image
  fs::path source;       // the .asm
  std::string mode;      // long64, prot32, real16
  uint64_t load = 0x10000;
  uint64_t max_insns = 10'000'000;
  bool max_insns_given = false;  // the header states expect-max-insns
  std::vector<std::pair<std::string, std::string>> expects;  // in header order
  std::optional<uint64_t> flags_mask;
  std::vector<MemExpect> mem;
  std::string kvm_skip;  // reason, empty when KVM runs it
  std::string native_skip;  // reason, empty when the host CPU runs it
  std::vector<std::string> header_errors;  // malformed header lines
};

inline std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

inline std::string trim(std::string s) {
  while (!s.empty() && std::isspace(uint8_t(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(uint8_t(s[i]))) ++i;
  return s.substr(i);
}

// Parses a number the way the headers write it: 0x.. hex or decimal.
inline bool parse_u64(const std::string& s, uint64_t& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtoull(s.c_str(), &end, 0);
  return errno == 0 && end && *end == '\0';
}

inline bool parse_hex_bytes(const std::string& s, std::vector<uint8_t>& out) {
  if (s.empty() || s.size() % 2) return false;
  for (size_t i = 0; i < s.size(); i += 2) {
    if (!std::isxdigit(uint8_t(s[i])) || !std::isxdigit(uint8_t(s[i + 1]))) return false;
    out.push_back(uint8_t(std::stoul(s.substr(i, 2), nullptr, 16)));
  }
  return true;
}

// Reads one "; key: value" header line into `p`.
inline void parse_header_line(Program& p, const std::string& key, const std::string& value) {
  auto bad = [&](const std::string& why) { p.header_errors.push_back(key + ": " + why + " ('" + value + "')"); };
  if (key == "expect-mode") {
    if (value != "long64" && value != "prot32" && value != "real16") bad("unknown mode");
    p.mode = value;
  } else if (key == "expect-load") {
    if (!parse_u64(value, p.load)) bad("not a number");
  } else if (key == "expect-max-insns") {
    if (!parse_u64(value, p.max_insns)) bad("not a number");
    p.max_insns_given = true;
  } else if (key == "expect-flags-mask") {
    uint64_t m;
    if (!parse_u64(value, m)) bad("not a number");
    else p.flags_mask = m;
  } else if (key == "expect") {
    std::istringstream in(value);
    std::string kv;
    while (in >> kv) {
      size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == kv.size()) bad("expected key=value, got '" + kv + "'");
      else p.expects.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
  } else if (key == "expect-mem") {
    size_t eq = value.find('=');
    MemExpect m{};
    if (eq == std::string::npos || !parse_u64(value.substr(0, eq), m.addr) ||
        !parse_hex_bytes(value.substr(eq + 1), m.bytes))
      bad("expected 0xADDR=hexbytes");
    else p.mem.push_back(m);
  } else if (key == "kvm" || key == "native") {
    std::string& reason = key == "kvm" ? p.kvm_skip : p.native_skip;
    if (value.rfind("skip", 0) != 0) bad("expected 'skip REASON'");
    else {
      reason = trim(value.substr(4));
      if (reason.empty()) bad("'skip' needs a reason");
    }
  }
  // Other "; word: ..." lines are ordinary comments.
}

inline Program read_program(const fs::path& bin, const fs::path& source) {
  Program p;
  p.name = bin.stem().string();
  p.bin = bin;
  p.source = source;
  std::ifstream in(source);
  if (!in) {
    p.header_errors.push_back("cannot read the source " + source.string());
    return p;
  }
  std::string line;
  while (std::getline(in, line)) {
    std::string t = trim(line);
    if (t.empty()) continue;
    if (t[0] != ';') break;  // the header ends at the first instruction/directive
    t = trim(t.substr(1));
    size_t colon = t.find(':');
    if (colon == std::string::npos) continue;
    std::string key = trim(t.substr(0, colon));
    if (key.find(' ') != std::string::npos) continue;  // prose, not a header key
    parse_header_line(p, key, trim(t.substr(colon + 1)));
  }
  if (p.mode.empty()) p.header_errors.push_back("missing '; expect-mode:' line");
  if (p.expects.empty()) p.header_errors.push_back("missing '; expect:' line");
  return p;
}

// Every built image in SOFTVT_GUEST_DIR with its source in
// SOFTVT_SOURCE_DIR/tests/guest, sorted by name.
inline std::vector<Program> load_corpus() {
  const fs::path guest_dir = env_or_empty("SOFTVT_GUEST_DIR");
  const fs::path src_dir = fs::path(env_or_empty("SOFTVT_SOURCE_DIR")) / "tests" / "guest";
  std::vector<Program> out;
  if (guest_dir.empty() || !fs::is_directory(guest_dir)) return out;
  for (const auto& e : fs::directory_iterator(guest_dir)) {
    if (e.path().extension() != ".bin") continue;
    out.push_back(read_program(e.path(), src_dir / (e.path().stem().string() + ".asm")));
  }
  std::sort(out.begin(), out.end(), [](const Program& a, const Program& b) { return a.name < b.name; });
  return out;
}

// The .asm files in tests/guest that should have been built but were not
// (a source missing from tests/guest/meson.build). demo.asm is built into
// the softvt binary instead.
inline std::vector<std::string> unbuilt_sources() {
  const fs::path guest_dir = env_or_empty("SOFTVT_GUEST_DIR");
  const fs::path src_dir = fs::path(env_or_empty("SOFTVT_SOURCE_DIR")) / "tests" / "guest";
  std::vector<std::string> out;
  if (!fs::is_directory(src_dir)) return out;
  for (const auto& e : fs::directory_iterator(src_dir)) {
    if (e.path().extension() != ".asm" || e.path().stem() == "demo") continue;
    if (!fs::exists(guest_dir / (e.path().stem().string() + ".bin"))) out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// ---- running softvt ----------------------------------------------------------

struct RunResult {
  int exit_code = -1;              // softvt's exit status
  std::string stderr_text;
  std::map<std::string, std::string> state;  // the --dump-state JSON
  std::string error;               // why the run could not be judged
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The dump is a flat object of string values ("key": "value"); reads it.
inline std::map<std::string, std::string> parse_state_json(const std::string& j) {
  std::map<std::string, std::string> m;
  size_t pos = 0;
  auto next_string = [&](std::string& out) -> bool {
    size_t a = j.find('"', pos);
    if (a == std::string::npos) return false;
    std::string s;
    size_t i = a + 1;
    for (; i < j.size() && j[i] != '"'; ++i) {
      if (j[i] == '\\' && i + 1 < j.size()) ++i;
      s += j[i];
    }
    if (i >= j.size()) return false;
    pos = i + 1;
    out = s;
    return true;
  };
  std::string k, v;
  while (next_string(k)) {
    size_t colon = j.find(':', pos);
    if (colon == std::string::npos) break;
    pos = colon + 1;
    if (!next_string(v)) break;
    m[k] = v;
  }
  return m;
}

inline std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

// Runs `softvt run --flat` on the program (without a shell: argv directly).
inline RunResult run_softvt(const Program& p, const std::string& accel, std::optional<std::pair<uint64_t, uint64_t>> dump) {
  RunResult r;
  const std::string softvt = env_or_empty("SOFTVT");
  if (softvt.empty()) {
    r.error = "SOFTVT (the path of the softvt binary) is not set";
    return r;
  }
  char tmpl[] = "/tmp/softvt_corpus_XXXXXX";
  const int fd = mkstemp(tmpl);
  if (fd < 0) {
    r.error = "mkstemp failed";
    return r;
  }
  close(fd);
  const std::string state_file = tmpl, err_file = state_file + ".err";
  std::vector<std::string> args = {softvt, "run", "--flat", p.bin.string(), "--mode", p.mode,
                                   "--load", hex(p.load), "--accel", accel, "--dump-state", state_file};
  // Under KVM an instruction limit means single-stepping, whose trap flag
  // leaks into exception frames the guest pushes (docs/oracles.md): run
  // freely (KVM's wall-clock timeout bounds it) unless the program asks for
  // a limit.
  if (accel != "kvm" || p.max_insns_given) {
    args.push_back("--max-insns");
    args.push_back(std::to_string(p.max_insns));
  }
  if (dump) {
    args.push_back("--dump-mem");
    args.push_back(hex(dump->first) + ":" + hex(dump->second));
  }
  const pid_t pid = fork();
  if (pid == 0) {
    FILE* e = std::freopen(err_file.c_str(), "w", stderr);
    (void)e;
    FILE* o = std::freopen("/dev/null", "w", stdout);
    (void)o;
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.stderr_text = slurp(err_file);
  r.state = parse_state_json(slurp(state_file));
  std::remove(state_file.c_str());
  std::remove(err_file.c_str());
  if (r.state.empty())
    r.error = "softvt exited with status " + std::to_string(r.exit_code) + " and wrote no state: " + r.stderr_text;
  return r;
}

// ---- comparing -------------------------------------------------------------------

// "0x0003" and "0x3" are the same value; values wider than 64 bits (xmm)
// are compared as normalised hex strings.
inline std::string normalise(const std::string& v) {
  std::string s = v;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (s.rfind("0x", 0) == 0) {
    s = s.substr(2);
    size_t nz = s.find_first_not_of('0');
    return "0x" + (nz == std::string::npos ? std::string("0") : s.substr(nz));
  }
  uint64_t n;
  if (parse_u64(s, n)) return hex(n);
  return s;
}

struct Mismatch {
  std::string key, expected, actual;
};

// Compares the register/exit expectations with a state dump.
inline std::vector<Mismatch> compare_state(const Program& p, const std::map<std::string, std::string>& st) {
  std::vector<Mismatch> out;
  for (const auto& [k, want] : p.expects) {
    auto it = st.find(k);
    if (it == st.end()) {
      out.push_back({k, want, "<key missing from the state dump>"});
      continue;
    }
    if (k == "rflags" && p.flags_mask) {
      uint64_t w, a;
      if (!parse_u64(want, w) || !parse_u64(it->second, a)) {
        out.push_back({k, want, it->second});
      } else if ((w & *p.flags_mask) != (a & *p.flags_mask)) {
        out.push_back({k + " & " + hex(*p.flags_mask), hex(w & *p.flags_mask), hex(a & *p.flags_mask)});
      }
      continue;
    }
    if (normalise(want) != normalise(it->second)) out.push_back({k, want, it->second});
  }
  return out;
}

// Groups the memory expectations into ranges to dump (one run each).
inline std::vector<std::pair<uint64_t, uint64_t>> dump_ranges(const Program& p) {
  std::vector<std::pair<uint64_t, uint64_t>> r;  // [start, end)
  std::vector<MemExpect> m = p.mem;
  std::sort(m.begin(), m.end(), [](const MemExpect& a, const MemExpect& b) { return a.addr < b.addr; });
  for (const auto& e : m) {
    const uint64_t end = e.addr + e.bytes.size();
    if (!r.empty() && e.addr <= r.back().second + 0x1000) r.back().second = std::max(r.back().second, end);
    else r.push_back({e.addr, end});
  }
  return r;
}

inline std::string bytes_hex(const std::vector<uint8_t>& b) {
  std::string s;
  char x[4];
  for (uint8_t v : b) {
    std::snprintf(x, sizeof x, "%02x", v);
    s += x;
  }
  return s;
}

// Compares the memory expectations falling in [start, start + dump/2) with
// the "mem" field of a dump of that range.
inline std::vector<Mismatch> compare_mem(const Program& p, uint64_t start, const std::string& dumped) {
  std::vector<Mismatch> out;
  std::vector<uint8_t> mem;
  if (!parse_hex_bytes(dumped, mem)) {
    out.push_back({"mem@" + hex(start), "a hex dump", dumped});
    return out;
  }
  for (const auto& e : p.mem) {
    if (e.addr < start || e.addr + e.bytes.size() > start + mem.size()) continue;
    std::vector<uint8_t> got(mem.begin() + long(e.addr - start), mem.begin() + long(e.addr - start + e.bytes.size()));
    if (got != e.bytes) out.push_back({"mem@" + hex(e.addr), bytes_hex(e.bytes), bytes_hex(got)});
  }
  return out;
}

// Runs the program (once per memory range to dump) and returns every
// difference from its expectations; `error` is set when a run could not be
// judged at all.
struct Verdict {
  std::vector<Mismatch> mismatches;
  std::string error;
  std::string exit_reason, detail;
};

inline Verdict check_program(const Program& p, const std::string& accel) {
  Verdict v;
  auto ranges = dump_ranges(p);
  std::optional<std::pair<uint64_t, uint64_t>> first;
  if (!ranges.empty()) first = std::make_pair(ranges[0].first, ranges[0].second - ranges[0].first);
  RunResult r = run_softvt(p, accel, first);
  if (!r.error.empty()) {
    v.error = r.error;
    return v;
  }
  v.exit_reason = r.state["exit"];
  v.detail = r.state.count("error") ? r.state["error"] : r.state.count("detail") ? r.state["detail"] : "";
  v.mismatches = compare_state(p, r.state);
  for (size_t i = 0; i < ranges.size(); ++i) {
    const auto& [s, e] = ranges[i];
    if (i > 0) {
      r = run_softvt(p, accel, std::make_pair(s, e - s));
      if (!r.error.empty()) {
        v.error = r.error;
        return v;
      }
    }
    auto m = compare_mem(p, s, r.state["mem"]);
    v.mismatches.insert(v.mismatches.end(), m.begin(), m.end());
  }
  return v;
}

inline std::string describe(const Verdict& v) {
  std::ostringstream o;
  o << "exit=" << v.exit_reason;
  if (!v.detail.empty()) o << " (" << v.detail << ")";
  for (const auto& m : v.mismatches) o << "\n  " << m.key << ": expected " << m.expected << ", got " << m.actual;
  return o.str();
}

}  // namespace corpus
