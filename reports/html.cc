#include "reports/html.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/format.h"
#include "reports/format.h"
#include "topologies/topology.h"

namespace clustertwin::reports {

namespace {
std::string format_seconds(double s) { return s == 0 ? "0" : seconds(s); }

std::string esc(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string pct(double e) { return percent(e); }

const char* phase_colour(const std::string& p) {
  static const std::map<std::string, const char*> colours = {
      {"compute", "#4e79a7"},  {"forward", "#4e79a7"},         {"backward", "#76b7b2"},
      {"optimizer", "#59a14f"}, {"reduce", "#edc948"},          {"prefill", "#af7aa1"},
      {"decode", "#b07aa1"},    {"other", "#9c9c9c"},           {"exposed communication", "#f28e2b"},
      {"pipeline bubble", "#e15759"}, {"idle", "#d4d4d4"}};
  auto it = colours.find(p);
  return it == colours.end() ? "#888888" : it->second;
}

const char* run_colour(size_t i, const Comparison& c) {
  static const char* palette[] = {"#4e79a7", "#e15759", "#59a14f", "#f28e2b", "#b07aa1", "#9c755f"};
  if (c.runs.size() == 2 && c.paired()) return static_cast<int>(i) == c.reference ? "#e15759" : "#4e79a7";
  return palette[i % 6];
}

std::vector<std::string> phase_order(const Comparison& c) {
  std::vector<std::string> order = kPhaseOrder;
  order.insert(order.begin(), "compute");
  for (const auto& r : c.runs)
    for (const auto& [k, v] : r.phases)
      if (std::find(order.begin(), order.end(), k) == order.end()) order.push_back(k);
  std::vector<std::string> out;
  for (const auto& k : order) {
    bool any = false;
    for (const auto& r : c.runs) any |= r.phases.count(k) && r.phases.at(k) > 1e-9 * r.step_mean;
    if (any) out.push_back(k);
  }
  return out;
}

// An axis tick: "2.5 s", "250 ms", "0".
std::string tick_text(double v, double top) {
  if (v == 0) return "0";
  if (top >= 1) return fmt::format("{:g} s", v);
  if (top >= 1e-3) return fmt::format("{:g} ms", v * 1e3);
  return fmt::format("{:g} us", v * 1e6);
}

// A round axis maximum and its tick step.
std::pair<double, double> nice_axis(double max) {
  if (max <= 0) return {1, 0.25};
  double mag = std::pow(10, std::floor(std::log10(max)));
  for (double step : {0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0})
    if (max / (step * mag) <= 5) return {std::ceil(max / (step * mag)) * step * mag, step * mag};
  return {10 * mag, 2 * mag};
}

std::string legend(const std::vector<std::pair<std::string, std::string>>& items) {
  std::string out = "<div class=\"legend\">";
  for (const auto& [name, colour] : items)
    out += fmt::format("<span><i style=\"background:{}\"></i>{}</span>", colour, esc(name));
  return out + "</div>";
}

// Stacked bars of the step's phases, one bar per run, side by side.
std::string breakdown_chart(const Comparison& c) {
  auto phases = phase_order(c);
  double max = 0;
  for (const auto& r : c.runs) {
    double t = 0;
    for (const auto& p : phases) t += r.phases.count(p) ? r.phases.at(p) : 0;
    max = std::max({max, t, r.step_mean});
  }
  auto [top, tick] = nice_axis(max);
  const double H = 260, left = 70, bar = 90, gap = 50;
  const double W = left + c.runs.size() * (bar + gap) + 20;
  std::string svg = fmt::format("<svg id=\"chart-breakdown\" class=\"chart\" width=\"{:.0f}\" height=\"{:.0f}\" "
                                "viewBox=\"0 0 {:.0f} {:.0f}\" role=\"img\">",
                                W, H + 50, W, H + 50);
  auto y = [&](double s) { return 10 + H - s / top * H; };
  for (double v = 0; v <= top * 1.0001; v += tick)
    svg += fmt::format("<line class=\"grid\" x1=\"{:.0f}\" x2=\"{:.0f}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/><text class=\"tick\" "
                       "x=\"{:.0f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>",
                       left, W - 10, y(v), y(v), left - 6, y(v) + 4, esc(tick_text(v, top)));
  for (size_t i = 0; i < c.runs.size(); ++i) {
    const auto& r = c.runs[i];
    double x = left + gap / 2 + i * (bar + gap), base = 0;
    svg += fmt::format("<g class=\"bar\" data-run=\"{}\">", esc(r.name));
    for (const auto& p : phases) {
      double v = r.phases.count(p) ? r.phases.at(p) : 0;
      if (v <= 1e-9 * max) continue;  // rounding residue of a phase that is not there
      svg += fmt::format("<rect class=\"seg\" data-phase=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.0f}\" height=\"{:.2f}\" "
                         "fill=\"{}\"><title>{}: {} {}</title></rect>",
                         esc(p), x, y(base + v), bar, y(base) - y(base + v), phase_colour(p), esc(r.name), esc(p),
                         esc(format_seconds(v)));
      base += v;
    }
    svg += fmt::format("<text class=\"value\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>"
                       "<text class=\"label\" x=\"{:.1f}\" y=\"{:.0f}\" text-anchor=\"middle\">{}</text></g>",
                       x + bar / 2, y(base) - 5, esc(format_seconds(base)), x + bar / 2, H + 30, esc(r.name));
  }
  std::vector<std::pair<std::string, std::string>> items;
  for (const auto& p : phases) items.push_back({p, phase_colour(p)});
  return svg + "</svg>" + legend(items);
}

// Step time over steps: one line per run, one point per step.
std::string steps_chart(const Comparison& c) {
  size_t steps = 0;
  double max = 0;
  for (const auto& r : c.runs) {
    steps = std::max(steps, r.step_seconds.size());
    for (double t : r.step_seconds) max = std::max(max, t);
  }
  auto [top, tick] = nice_axis(max);
  const double W = 720, H = 220, left = 70, right = 20;
  std::string svg = fmt::format("<svg id=\"chart-steps\" class=\"chart\" width=\"{:.0f}\" height=\"{:.0f}\" viewBox=\"0 0 "
                                "{:.0f} {:.0f}\" role=\"img\">",
                                W, H + 40, W, H + 40);
  auto x = [&](size_t s) { return left + (steps > 1 ? s * (W - left - right) / (steps - 1) : (W - left - right) / 2); };
  auto y = [&](double t) { return 10 + H - t / top * H; };
  for (double v = 0; v <= top * 1.0001; v += tick)
    svg += fmt::format("<line class=\"grid\" x1=\"{:.0f}\" x2=\"{:.0f}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/><text class=\"tick\" "
                       "x=\"{:.0f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>",
                       left, W - right, y(v), y(v), left - 6, y(v) + 4, esc(tick_text(v, top)));
  size_t every = std::max<size_t>(1, steps / 10);
  for (size_t s = 0; s < steps; s += every)
    svg += fmt::format("<text class=\"tick\" x=\"{:.1f}\" y=\"{:.0f}\" text-anchor=\"middle\">{}</text>", x(s), H + 28, s);
  const bool points = steps <= 400;
  for (size_t i = 0; i < c.runs.size(); ++i) {
    const auto& r = c.runs[i];
    std::string line;
    for (size_t s = 0; s < r.step_seconds.size(); ++s) line += fmt::format("{:.1f},{:.1f} ", x(s), y(r.step_seconds[s]));
    svg += fmt::format("<g class=\"series\" data-run=\"{}\"><polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" "
                       "points=\"{}\"/>",
                       esc(r.name), run_colour(i, c), line);
    if (points)
      for (size_t s = 0; s < r.step_seconds.size(); ++s)
        svg += fmt::format("<circle class=\"pt\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"><title>{} step {}: {}</title>"
                           "</circle>",
                           x(s), y(r.step_seconds[s]), run_colour(i, c), esc(r.name), s, esc(format_seconds(r.step_seconds[s])));
    svg += "</g>";
  }
  std::vector<std::pair<std::string, std::string>> items;
  for (size_t i = 0; i < c.runs.size(); ++i) items.push_back({c.runs[i].name, run_colour(i, c)});
  return svg + "</svg>" + legend(items);
}

// Per collective: the error of the predicted run against the reference (or, for one run, its
// time per occurrence), largest first, at most 30 rows.
std::string collectives_chart(const Comparison& c) {
  struct Row {
    std::string label, text;
    double value;
  };
  std::vector<Row> rows;
  const bool paired = c.paired();
  const RunStats& base = c.runs[paired ? c.predicted : 0];
  for (const auto& col : base.collectives) {
    if (!paired) {
      rows.push_back({col.label, format_seconds(col.mean_seconds), col.mean_seconds});
      continue;
    }
    const auto& ref = c.runs[c.reference].collectives;
    auto it = std::find_if(ref.begin(), ref.end(), [&](const auto& x) { return x.label == col.label; });
    if (it == ref.end()) continue;
    double e = error_percent(col.mean_seconds, it->mean_seconds);
    if (!std::isfinite(e)) continue;
    rows.push_back({col.label,
                    fmt::format("{} ({} vs {})", pct(e), format_seconds(col.mean_seconds), format_seconds(it->mean_seconds)), e});
  }
  if (rows.empty()) return "<p class=\"missing\">No collectives in these runs.</p>";
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return std::abs(a.value) > std::abs(b.value); });
  const size_t total = rows.size();
  if (rows.size() > 30) rows.resize(30);
  double max = 0;
  for (const auto& r : rows) max = std::max(max, std::abs(r.value));
  if (max <= 0) max = 1;
  const double W = 720, label_w = 220, row_h = 22, text_w = 200;
  const double plot = W - label_w - text_w;
  const double zero = paired ? label_w + plot / 2 : label_w;
  const double scale = (paired ? plot / 2 : plot) / max;
  const double H = rows.size() * row_h + 10;
  std::string svg = fmt::format("<svg id=\"chart-collectives\" class=\"chart\" width=\"{:.0f}\" height=\"{:.0f}\" "
                                "viewBox=\"0 0 {:.0f} {:.0f}\" role=\"img\">",
                                W, H, W, H);
  svg += fmt::format("<line class=\"axis\" x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"0\" y2=\"{:.0f}\"/>", zero, zero, H);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    double y = 5 + i * row_h, len = std::abs(r.value) * scale;
    double x = r.value < 0 ? zero - len : zero;
    const char* colour = !paired ? "#4e79a7" : std::abs(r.value) <= 10 ? "#59a14f" : "#e15759";
    svg += fmt::format("<g class=\"row\"><text class=\"label\" x=\"{:.0f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>"
                       "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.0f}\" fill=\"{}\"><title>{}: {}</title></rect>"
                       "<text class=\"value\" x=\"{:.0f}\" y=\"{:.1f}\">{}</text></g>",
                       label_w - 8, y + 14, esc(r.label), x, y + 3, std::max(len, 0.5), row_h - 6, colour, esc(r.label),
                       esc(r.text), label_w + plot + 8, y + 14, esc(r.text));
  }
  std::string note = paired ? "Error of one occurrence, predicted against measured (green within ±10 %)."
                            : "Time of one occurrence.";
  if (total > rows.size()) note += fmt::format(" The {} largest of {} collectives; all in summary.csv.", rows.size(), total);
  return svg + "</svg><p class=\"note\">" + note + "</p>";
}

// One step per run (the one nearest the median), a lane per rank and run, runs of a rank one
// above the other, on one time axis.
std::string timelines_chart(const Comparison& c) {
  double span = 0;
  size_t world = 0;
  for (const auto& r : c.runs) span = std::max(span, r.timeline_span), world = std::max(world, r.timeline.size());
  if (world == 0 || span <= 0) return "<p class=\"missing\">No trace.json in the run directories: no timelines.</p>";
  const size_t shown = std::min<size_t>(world, 64);
  auto [top, tick] = nice_axis(span);
  const double W = 900, left = 150, right = 20, lane = 9, rank_gap = 4;
  const double rank_h = c.runs.size() * lane + rank_gap;
  const double H = 30 + shown * rank_h + 10;
  auto x = [&](double t) { return left + t / top * (W - left - right); };
  std::string svg = fmt::format("<svg id=\"chart-timelines\" class=\"chart\" width=\"{:.0f}\" height=\"{:.0f}\" "
                                "viewBox=\"0 0 {:.0f} {:.0f}\" role=\"img\">",
                                W, H, W, H);
  for (double v = 0; v <= top * 1.0001; v += tick)
    svg += fmt::format("<line class=\"grid\" x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"20\" y2=\"{:.0f}\"/><text class=\"tick\" "
                       "x=\"{:.1f}\" y=\"14\" text-anchor=\"middle\">{}</text>",
                       x(v), x(v), H - 5, x(v), esc(tick_text(v, top)));
  static const char* box_colour[] = {"#4e79a7", "#f28e2b", "#e15759"};
  for (size_t rank = 0; rank < shown; ++rank) {
    for (size_t i = 0; i < c.runs.size(); ++i) {
      const auto& r = c.runs[i];
      double y = 24 + rank * rank_h + i * lane;
      svg += fmt::format("<g class=\"lane\" data-run=\"{}\" data-rank=\"{}\"><text class=\"lanelabel\" x=\"{:.0f}\" "
                         "y=\"{:.1f}\" text-anchor=\"end\">rank {} {}</text>",
                         esc(r.name), rank, left - 6, y + lane - 1.5, rank, esc(r.name));
      if (rank < r.timeline.size())
        for (const auto& b : r.timeline[rank])
          svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.2f}\" height=\"{:.0f}\" fill=\"{}\"/>", x(b.start), y,
                             std::max(x(b.end) - x(b.start), 0.3), lane - 1, box_colour[b.cls]);
      svg += "</g>";
    }
  }
  svg += "</svg>";
  std::string note = "Step ";
  for (size_t i = 0; i < c.runs.size(); ++i)
    note += fmt::format("{}{} of {}", i ? ", " : "", c.runs[i].timeline_step, esc(c.runs[i].name));
  note += " (the step nearest each run's median), from its first op start.";
  if (shown < world) note += fmt::format(" The first {} of {} ranks.", shown, world);
  return svg + legend({{"compute", box_colour[0]}, {"communication", box_colour[1]}, {"waiting in a recv", box_colour[2]}}) +
         "<p class=\"note\">" + note + "</p>";
}

std::string utilisation_colour(double u) {
  u = std::clamp(u, 0.0, 1.0);
  int r = static_cast<int>(89 + u * (225 - 89)), g = static_cast<int>(161 - u * (161 - 87)), b = static_cast<int>(79 - u * (79 - 89));
  return fmt::format("#{:02x}{:02x}{:02x}", r, g, b);
}

struct Layout {
  std::vector<std::pair<double, double>> pos;  // per node
  int hub = -1;                                // the star's centre, or -1
};

// A star hub (a node linked to every other, and no other link) in the middle, the rest on a circle.
Layout layout(const topo::Topology& t, double cx, double cy, double radius) {
  const int n = static_cast<int>(t.nodes.size());
  std::vector<int> degree(n, 0);
  for (const auto& l : t.links) ++degree[l.a], ++degree[l.b];
  Layout out;
  out.pos.resize(n);
  for (int i = 0; i < n; ++i)
    if (n > 2 && degree[i] == n - 1 && static_cast<int>(t.links.size()) == n - 1) out.hub = i;
  int k = 0, ring = n - (out.hub >= 0 ? 1 : 0);
  for (int i = 0; i < n; ++i) {
    if (i == out.hub) {
      out.pos[i] = {cx, cy};
      continue;
    }
    double a = -M_PI / 2 + 2 * M_PI * k++ / std::max(ring, 1);
    out.pos[i] = {cx + radius * std::cos(a), cy + radius * std::sin(a)};
  }
  return out;
}

// The topology, each link's width and colour from the reference run's utilisation.
std::string topology_chart(const Comparison& c) {
  const RunStats* with = nullptr;
  for (const auto& r : c.runs)
    if (r.run->topology && !with) with = &r;
  if (!with)
    return "<p class=\"missing\">No topology.yaml in the run directories (runs written by an older clustertwin): no "
           "topology drawing.</p>";
  const topo::Topology& t = *with->run->topology;
  const int n = static_cast<int>(t.nodes.size());
  const double W = 720, H = 420;
  const bool small = n > 16;  // many nodes: dots with tooltips, no labels
  const Layout lay = layout(t, W / 2, H / 2, 160);
  const auto& pos = lay.pos;
  const int hub = lay.hub;
  const RunStats& ref = c.runs[c.reference >= 0 ? c.reference : 0];
  std::string svg = fmt::format("<svg id=\"chart-topology\" class=\"chart\" width=\"{:.0f}\" height=\"{:.0f}\" "
                                "viewBox=\"0 0 {:.0f} {:.0f}\" role=\"img\">",
                                W, H, W, H);
  for (size_t l = 0; l < t.links.size(); ++l) {
    const auto& L = t.links[l];
    double u = l < ref.links.size() ? ref.links[l].utilisation : 0;
    std::string text;
    for (const auto& r : c.runs)
      if (l < r.links.size()) text += fmt::format("{}{} {:.0f} %", text.empty() ? "" : " / ", r.name, r.links[l].utilisation * 100);
    auto [x1, y1] = pos[L.a];
    auto [x2, y2] = pos[L.b];
    svg += fmt::format("<g class=\"link\"><line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
                       "stroke-width=\"{:.1f}\"><title>{} - {} ({}, {}): {}</title></line>",
                       x1, y1, x2, y2, utilisation_colour(u), (small ? 1 : 2) + (small ? 4 : 10) * std::clamp(u, 0.0, 1.0),
                       esc(t.nodes[L.a].name), esc(t.nodes[L.b].name), esc(L.type.preset), esc(rate(L.type.bandwidth)),
                       esc(text));
    // The label sits nearer the outer end, so labels of a star's spokes do not meet at the hub.
    double lx = L.a == hub ? x1 + 0.6 * (x2 - x1) : L.b == hub ? x2 + 0.6 * (x1 - x2) : (x1 + x2) / 2;
    double ly = L.a == hub ? y1 + 0.6 * (y2 - y1) : L.b == hub ? y2 + 0.6 * (y1 - y2) : (y1 + y2) / 2;
    // Away from the line: to the left of a link that leans left, to the right of one that leans right.
    double dx = std::abs(x2 - x1) < 1 ? 0 : (L.b == hub ? x1 - x2 : x2 - x1);
    const char* anchor = dx < -1 ? "end" : dx > 1 ? "start" : "middle";
    lx += dx < -1 ? -10 : dx > 1 ? 10 : 0;
    if (!small)
      svg += fmt::format("<text class=\"linklabel\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"{}\">{} · {}</text>", lx,
                         ly - 6, anchor, esc(L.type.preset), esc(text.empty() ? "-" : text));
    svg += "</g>";
  }
  for (int i = 0; i < n; ++i) {
    const auto& node = t.nodes[i];
    auto [x, y] = pos[i];
    std::string sub = node.is_switch ? "switch" : node.device ? node.device->preset : node.role;
    if (small) {
      svg += fmt::format("<g class=\"node\"><circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\" fill=\"{}\"><title>{} ({})</title>"
                         "</circle></g>",
                         x, y, node.is_switch ? 14 : 6, node.is_switch ? "#bab0ac" : "#4e79a7", esc(node.name), esc(sub));
      continue;
    }
    svg += fmt::format("<g class=\"node\"><circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"22\" fill=\"{}\"/>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" class=\"nodename\">{}</text>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" class=\"tick\">{}</text></g>",
                       x, y, node.is_switch ? "#bab0ac" : "#dbe6f1", x, y + 4, esc(node.name), x, y + 36, esc(sub));
  }
  return svg + "</svg><p class=\"note\">Link width and colour: mean utilisation over a step in the busier direction (" +
         esc(ref.name) + "); " + (small ? "hover a link for every run's." : "labels give every run's.") + "</p>";
}

std::string table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows,
                   const std::string& id) {
  std::string out = fmt::format("<table id=\"{}\"><thead><tr>", id);
  for (const auto& h : head) out += "<th>" + esc(h) + "</th>";
  out += "</tr></thead><tbody>";
  for (const auto& r : rows) {
    out += "<tr>";
    for (const auto& cell : r) out += "<td>" + esc(cell) + "</td>";
    out += "</tr>";
  }
  return out + "</tbody></table>";
}

std::vector<std::string> run_head(const Comparison& c, const std::string& first) {
  std::vector<std::string> h{first};
  for (const auto& r : c.runs) h.push_back(r.name);
  if (c.paired()) h.push_back("error");
  return h;
}

std::vector<std::string> run_cells(const Comparison& c, const std::string& first, const std::vector<double>& v) {
  std::vector<std::string> row{first};
  for (double x : v) row.push_back(format_seconds(x));
  if (c.paired()) row.push_back(pct(error_percent(v[c.predicted], v[c.reference])));
  return row;
}

std::string collective_table(const Comparison& c) {
  const RunStats& base = c.runs[c.paired() ? c.predicted : 0];
  if (base.collectives.empty()) return {};
  std::vector<std::string> head{"collective", "kind / algorithm", "ranks", "size"};
  for (const auto& r : c.runs) head.push_back(r.name);
  if (c.paired()) head.push_back("error");
  for (const auto& r : c.runs) head.push_back("busbw " + r.name);
  std::vector<std::vector<std::string>> rows;
  for (const auto& col : base.collectives) {
    std::vector<std::string> row{col.label, col.kind.empty() ? "-" : col.kind + " / " + col.algorithm,
                                 col.group_size ? std::to_string(col.group_size) : "-", core::format_bytes(col.bytes)};
    std::vector<double> t, bw;
    for (const auto& r : c.runs) {
      auto it = std::find_if(r.collectives.begin(), r.collectives.end(), [&](const auto& x) { return x.label == col.label; });
      t.push_back(it == r.collectives.end() ? 0 : it->mean_seconds);
      bw.push_back(it == r.collectives.end() ? 0 : it->busbw);
    }
    for (double x : t) row.push_back(format_seconds(x));
    if (c.paired()) row.push_back(pct(error_percent(t[c.predicted], t[c.reference])));
    for (double b : bw) row.push_back(rate(b));
    rows.push_back(std::move(row));
    if (rows.size() == 30) break;
  }
  return "<h2>Collectives (one occurrence)</h2>" + table(head, rows, "table-collectives");
}

// Compute per rank and run, the slowest ranks of the reference run flagged.
std::string rank_table(const Comparison& c) {
  const RunStats& ref = c.runs[c.reference >= 0 ? c.reference : 0];
  if (ref.ranks.empty()) return {};
  std::vector<double> comp;
  for (const auto& rs : ref.ranks) comp.push_back(rs.compute);
  std::vector<double> sorted = comp;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  std::vector<std::string> head{"rank"};
  for (const auto& r : c.runs) head.push_back("compute " + r.name);
  if (c.paired()) head.push_back("error");
  for (const auto& r : c.runs) head.push_back("waiting " + r.name);
  head.push_back("note");
  std::vector<std::vector<std::string>> rows;
  const auto shown = ranks_to_show(ref, 64);
  for (size_t rank : shown) {
    std::vector<std::string> row{std::to_string(rank)};
    std::vector<double> v;
    for (const auto& r : c.runs) v.push_back(rank < r.ranks.size() ? r.ranks[rank].compute : 0);
    for (double x : v) row.push_back(format_seconds(x));
    if (c.paired()) row.push_back(pct(error_percent(v[c.predicted], v[c.reference])));
    for (const auto& r : c.runs)
      row.push_back(rank < r.ranks.size() ? format_seconds(r.ranks[rank].exposed + r.ranks[rank].bubble + r.ranks[rank].idle) : "-");
    row.push_back(median > 0 && comp[rank] > 1.1 * median
                      ? fmt::format("slowest: compute {} over the median", pct((comp[rank] / median - 1) * 100))
                      : "");
    rows.push_back(std::move(row));
  }
  std::string note = "waiting = exposed communication + pipeline bubble + idle.";
  if (shown.size() < ref.ranks.size())
    note += fmt::format(" The {} of {} ranks with the most compute; every rank is in summary.csv.", shown.size(),
                        ref.ranks.size());
  return "<h2>Ranks (seconds per step)</h2>" + table(head, rows, "table-ranks") + "<p class=\"note\">" + note + "</p>";
}

std::string tables(const Comparison& c) {
  std::vector<std::vector<std::string>> rows;
  auto each = [&](auto get) {
    std::vector<double> v;
    for (const auto& r : c.runs) v.push_back(get(r));
    return v;
  };
  rows.push_back(run_cells(c, "step time (mean)", each([](const RunStats& r) { return r.step_mean; })));
  rows.push_back(run_cells(c, "step time (p95)", each([](const RunStats& r) { return r.step_p95; })));
  for (const auto& p : phase_order(c))
    rows.push_back(run_cells(c, p, each([&](const RunStats& r) { return r.phases.count(p) ? r.phases.at(p) : 0.0; })));
  std::string out = "<h2>Figures per step</h2>" + table(run_head(c, "per step"), rows, "table-steps");
  out += collective_table(c) + rank_table(c);
  if (c.paired() && !c.worst_labels.empty()) {
    rows.clear();
    for (const auto& d : c.worst_labels)
      rows.push_back({d.label, format_seconds(d.predicted), format_seconds(d.measured),
                      pct(error_percent(d.predicted, d.measured)), fmt::format("{:g}", d.per_step)});
    const std::string& pn = c.runs[c.predicted].name;
    const std::string& mn = c.runs[c.reference].name;
    out += "<h2>Worst offenders</h2>" +
           table({"op", pn + " (one occurrence)", mn, "error", "× per step"}, rows, "table-worst") +
           fmt::format("<p class=\"note\">Matched by (rank, op id): {} op executions; {} only in {}, {} only in {}. Every "
                       "figure is in report.md and summary.csv.</p>",
                       c.matched, c.only_predicted, esc(pn), c.only_measured, esc(mn));
  }
  return out;
}

std::string header(const Comparison& c) {
  const RunView& first = *c.runs.front().run;
  std::string title = c.runs.size() == 1 ? fmt::format("{} run", c.runs[0].name)
                      : c.runs.size() == 2 && c.paired() ? std::string("predicted vs measured")
                                                          : fmt::format("{} runs", c.runs.size());
  std::string out = fmt::format("<h1>clustertwin: {}</h1><p class=\"meta\">workload <b>{}</b>, {} ranks, {} steps</p><ul class=\"runs\">",
                                esc(title), esc(first.info.workload), first.world, first.steps);
  for (const auto& r : c.runs)
    out += fmt::format("<li><b>{}</b>: {} on topology <b>{}</b> ({}): step {}</li>", esc(r.name), esc(r.run->dir),
                       esc(r.run->info.topology), esc(r.run->info.detail), esc(format_seconds(r.step_mean)));
  out += "</ul>";
  for (const auto& r : c.runs)
    for (const auto& n : r.run->notes) out += fmt::format("<p class=\"warn\">{}: {}</p>", esc(r.name), esc(n));
  if (!c.same_program) out += "<p class=\"warn\">The runs executed different Programs: the comparison mixes a model error with a workload difference.</p>";
  if (!c.verdict.empty()) out += "<p class=\"verdict\">" + esc(c.verdict) + "</p>";
  if (c.paired()) {
    out += "<h2>Likely causes</h2><ol id=\"hints\">";
    for (const auto& h : c.hints)
      out += fmt::format("<li class=\"hint\"><b>{}</b><br>{}.<br><i>What to do:</i> {}.</li>", esc(h.cause),
                         esc(h.evidence), esc(h.action));
    out += "</ol>";
    if (!c.same_program) out += "<p>Not read: the runs executed different Programs.</p>";
    else if (c.hints.empty()) out += "<p>No rule fired: every residual is under its threshold.</p>";
  }
  return out;
}

constexpr const char* kHead = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>clustertwin report</title>
<script>
// Any script error, or anything the page tries to load, is written into the page, where the
// report's tests (and a reader) find it.
(function () {
  function mark(what) {
    var d = document.documentElement;
    d.setAttribute('data-js-error', (d.getAttribute('data-js-error') || '') + what + '; ');
  }
  window.addEventListener('error', function (e) { mark(e.message || 'resource failed to load'); }, true);
  window.addEventListener('unhandledrejection', function (e) { mark(String(e.reason)); });
  document.addEventListener('securitypolicyviolation', function (e) { mark('blocked ' + e.blockedURI); });
})();
</script>
<style>
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 960px; color: #222; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta, .note { color: #555; } .note { font-size: 12px; } .warn { color: #a00; font-weight: bold; }
.verdict { font-weight: bold; background: #f4f6f9; padding: 8px 12px; border-left: 4px solid #4e79a7; }
.hint { margin-bottom: 8px; } .missing { color: #777; font-style: italic; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg text { font-size: 11px; fill: #333; } .tick { fill: #666; font-size: 10px; } .lanelabel { font-size: 8px; fill: #555; }
.grid { stroke: #eee; } .axis { stroke: #999; } .value { font-weight: bold; } .nodename { font-weight: bold; }
.linklabel { fill: #333; font-size: 10px; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; } .legend i { display: inline-block; width: 11px; height: 11px; margin-right: 4px; vertical-align: -1px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; } td, th { border-bottom: 1px solid #e5e5e5; padding: 3px 10px; text-align: right; }
td:first-child, th:first-child { text-align: left; }
</style></head><body>
)";

constexpr const char* kTail = R"(<script>
// What the browser made of the charts, for the tests that open the page in Chromium: the number
// of marks each chart holds and whether it has a size on screen.
(function () {
  var marks = {'chart-breakdown': 'g.bar', 'chart-steps': 'circle.pt', 'chart-collectives': 'g.row',
               'chart-timelines': 'g.lane', 'chart-topology': 'g.node'};
  for (var id in marks) {
    var e = document.getElementById(id);
    if (!e) continue;
    e.setAttribute('data-marks', String(e.querySelectorAll(marks[id]).length));
    var box = e.getBoundingClientRect();
    e.setAttribute('data-visible', box.width > 0 && box.height > 0 ? '1' : '0');
  }
})();
document.documentElement.setAttribute('data-charts', String(document.querySelectorAll('svg.chart').length));
void document.body.getBoundingClientRect();  // layout included in the time
document.documentElement.setAttribute('data-render-ms', String(Math.round(performance.now())));
document.documentElement.setAttribute('data-rendered', 'ok');
</script>
</body></html>
)";
}  // namespace

std::string report_html(const Comparison& c) {
  if (c.runs.empty()) return std::string(kHead) + "<p>No runs.</p>" + kTail;
  std::string out = kHead;
  out += header(c);
  out += "<h2>Step time breakdown</h2><p class=\"note\">Seconds per step, mean over ranks; the phases add up to the "
         "step time.</p>" + breakdown_chart(c);
  out += "<h2>Step time over steps</h2>" + steps_chart(c);
  out += std::string("<h2>Per collective</h2>") + collectives_chart(c);
  out += "<h2>Per-rank timelines</h2>" + timelines_chart(c);
  out += "<h2>Topology and link utilisation</h2>" + topology_chart(c);
  out += tables(c);
  out += "<p class=\"note\">Written by clustertwin; report.md has every table, summary.csv every figure, trace.json "
         "every op (open it in https://ui.perfetto.dev).</p>";
  return out + kTail;
}

}  // namespace clustertwin::reports
