#include "traces/describe.h"
#include "traces/tools.h"

namespace softvt::trace {

void show_trace(const std::string& file, const ShowOptions& opt, std::FILE* out) {
  const std::vector<uint8_t> data = read_trace_file(file);
  TraceDecoder dec(data.data(), data.size(), file);
  RecordPrinter p;
  if (opt.json) std::fprintf(out, "[\n%s", header_json(dec.header()).c_str());
  else std::fputs(header_text(dec.header()).c_str(), out);
  // A malformed record ends the listing; what came before it is shown.
  struct CloseJson {
    std::FILE* out;
    bool json;
    ~CloseJson() {
      if (json) std::fputs("\n]\n", out);
    }
  } close{out, opt.json};
  Record r;
  while (dec.next(r)) {
    p.observe(r);
    if (r.kind != Kind::End) {
      if (r.icount < opt.from || r.icount > opt.to) continue;
      if (opt.cpu >= 0 && r.cpu != uint64_t(opt.cpu)) continue;
      if (opt.events_only && (r.kind == Kind::Insn || r.kind == Kind::Regs)) continue;
    }
    if (opt.json) std::fprintf(out, ",\n%s", p.json(r).c_str());
    else std::fprintf(out, "%s\n", p.text(r).c_str());
  }
}

}  // namespace softvt::trace
