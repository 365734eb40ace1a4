// The `softvt trace stats --svg` picture, written by hand: one lane per VM
// exit reason with a tick per exit along the run (instruction count), the
// spans in guest mode shaded behind them, and a bar per reason on the
// right with its count.
#include <algorithm>
#include <cmath>

#include "traces/describe.h"
#include "traces/tools.h"

namespace softvt::trace {

namespace {

constexpr int WIDTH = 1100, LEFT = 250, PLOT = 600, GAP = 30, BAR = 180, TOP = 70, LANE = 26, BINS = PLOT;

const char* const PALETTE[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                               "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else if (static_cast<unsigned char>(c) < 0x20) o += ' ';
    else o += c;
  }
  return o;
}

struct Lane {
  std::string name;
  uint64_t count = 0;
  std::vector<uint32_t> bins = std::vector<uint32_t>(BINS, 0);
};

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

std::string count_label(uint64_t v) {
  char b[32];
  if (v >= 10000000) std::snprintf(b, sizeof b, "%.0fM", double(v) / 1e6);
  else if (v >= 10000) std::snprintf(b, sizeof b, "%.0fk", double(v) / 1e3);
  else std::snprintf(b, sizeof b, "%llu", (unsigned long long)v);
  return b;
}

}  // namespace

std::string stats_svg(const TraceStats& s) {
  const uint64_t span = std::max<uint64_t>(s.max_icount, 1);
  const auto bin_of = [&](uint64_t icount) { return std::min<size_t>(BINS - 1, size_t(double(icount) / double(span) * BINS)); };
  // Lanes: the VM exit reasons, most frequent first; without exits the
  // exceptions and interrupts (the events the run did have) by vector.
  std::map<std::string, Lane> lanes;
  std::string what = "VM exits";
  for (const TraceStats::Exit& e : s.exit_events) {
    Lane& l = lanes[vm_exit_name(e.arch, e.reason)];
    ++l.bins[bin_of(e.icount)];
  }
  for (const auto& [k, n] : s.vm_exits) lanes[vm_exit_name(k.first, k.second)].count = n;
  if (lanes.empty()) {
    what = "exceptions and interrupts (no VM exits in this run)";
    for (const auto& [v, n] : s.exceptions)
      lanes[std::string("exception ") + exception_mnemonic(v) + " (" + std::to_string(v) + ")"].count = n;
    for (const auto& [k, n] : s.interrupts) lanes["interrupt " + hex(k.first) + " " + interrupt_source(k.second)].count += n;
  }
  std::vector<Lane*> order;
  for (auto& [name, l] : lanes) {
    l.name = name;
    order.push_back(&l);
  }
  std::stable_sort(order.begin(), order.end(), [](const Lane* a, const Lane* b) { return a->count > b->count; });
  const int rows = std::max<int>(1, int(order.size()));
  const int height = TOP + rows * LANE + 80;
  const uint64_t max_count = order.empty() ? 1 : std::max<uint64_t>(1, order.front()->count);

  std::string o = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(WIDTH) + "\" height=\"" +
                  std::to_string(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o += "<text x=\"20\" y=\"28\" font-size=\"18\" font-weight=\"bold\">" + esc(what) + " along the run</text>\n";
  o += "<text x=\"20\" y=\"48\" fill=\"#555\">" + esc(s.header.description) + " - " +
       std::to_string(s.insn_records) + " instructions traced, " + std::to_string(s.l2_insns) +
       " in guest mode (shaded)</text>\n";
  const int plot_bottom = TOP + rows * LANE;
  // Guest-mode spans behind the lanes.
  for (const TraceStats::Span& sp : s.l2_spans) {
    const double x0 = LEFT + double(sp.from) / double(span) * PLOT, x1 = LEFT + double(sp.to) / double(span) * PLOT;
    o += "<rect x=\"" + num(x0) + "\" y=\"" + std::to_string(TOP) + "\" width=\"" + num(std::max(1.5, x1 - x0)) +
         "\" height=\"" + std::to_string(rows * LANE) + "\" fill=\"#d8ebcc\"/>\n";
  }
  for (int i = 0; i < int(order.size()); ++i) {
    const Lane& l = *order[size_t(i)];
    const char* color = PALETTE[size_t(i) % (sizeof PALETTE / sizeof PALETTE[0])];
    const int y = TOP + i * LANE;
    // Long names are cut to fit the margin; the whole name is the tooltip.
    const std::string label = l.name.size() > 38 ? l.name.substr(0, 36) + "..." : l.name;
    o += "<text x=\"" + std::to_string(LEFT - 8) + "\" y=\"" + std::to_string(y + 17) + "\" text-anchor=\"end\"><title>" +
         esc(l.name) + "</title>" + esc(label) + "</text>\n";
    o += "<line x1=\"" + std::to_string(LEFT) + "\" x2=\"" + std::to_string(LEFT + PLOT) + "\" y1=\"" +
         std::to_string(y + LANE / 2) + "\" y2=\"" + std::to_string(y + LANE / 2) + "\" stroke=\"#ddd\"/>\n";
    // A tick per pixel column holding exits, darker where they are dense.
    uint32_t densest = 1;
    for (uint32_t b : l.bins) densest = std::max(densest, b);
    for (int b = 0; b < BINS; ++b) {
      if (!l.bins[size_t(b)]) continue;
      const double opacity = 0.35 + 0.65 * std::log1p(l.bins[size_t(b)]) / std::log1p(densest);
      o += "<rect x=\"" + std::to_string(LEFT + b) + "\" y=\"" + std::to_string(y + 4) + "\" width=\"1.5\" height=\"" +
           std::to_string(LANE - 8) + "\" fill=\"" + color + "\" fill-opacity=\"" + num(opacity) + "\"/>\n";
    }
    // The histogram bar.
    const double w = double(l.count) / double(max_count) * BAR;
    const int bx = LEFT + PLOT + GAP;
    o += "<rect x=\"" + std::to_string(bx) + "\" y=\"" + std::to_string(y + 5) + "\" width=\"" + num(std::max(1.0, w)) +
         "\" height=\"" + std::to_string(LANE - 10) + "\" fill=\"" + color + "\"/>\n";
    o += "<text x=\"" + num(bx + std::max(1.0, w) + 6) + "\" y=\"" + std::to_string(y + 17) + "\">" +
         std::to_string(l.count) + "</text>\n";
  }
  if (order.empty())
    o += "<text x=\"" + std::to_string(LEFT) + "\" y=\"" + std::to_string(TOP + 17) +
         "\" fill=\"#888\">no events to show</text>\n";
  // The axis: instruction counts.
  o += "<line x1=\"" + std::to_string(LEFT) + "\" x2=\"" + std::to_string(LEFT + PLOT) + "\" y1=\"" +
       std::to_string(plot_bottom + 4) + "\" y2=\"" + std::to_string(plot_bottom + 4) + "\" stroke=\"#333\"/>\n";
  for (int t = 0; t <= 5; ++t) {
    const int x = LEFT + PLOT * t / 5;
    o += "<line x1=\"" + std::to_string(x) + "\" x2=\"" + std::to_string(x) + "\" y1=\"" + std::to_string(plot_bottom + 4) +
         "\" y2=\"" + std::to_string(plot_bottom + 9) + "\" stroke=\"#333\"/>\n";
    o += "<text x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(plot_bottom + 23) + "\" text-anchor=\"middle\">" +
         count_label(span * uint64_t(t) / 5) + "</text>\n";
  }
  o += "<text x=\"" + std::to_string(LEFT + PLOT / 2) + "\" y=\"" + std::to_string(plot_bottom + 42) +
       "\" text-anchor=\"middle\" fill=\"#555\">instruction count</text>\n";
  o += "<text x=\"" + std::to_string(LEFT + PLOT + GAP) + "\" y=\"" + std::to_string(TOP - 8) +
       "\" fill=\"#555\">count</text>\n";
  return o + "</svg>\n";
}

}  // namespace softvt::trace
