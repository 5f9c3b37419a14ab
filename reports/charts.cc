#include "reports/charts.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/format.h"
#include "reports/svg.h"

namespace clustertwin::reports {

namespace {
using svg::Colour;
using svg::esc;
using svg::Tag;

std::string seconds(double s) { return core::format_seconds(s, core::Zero::Bare); }

// What a breakdown segment is: a compute phase (the trace's category) or a kind of waiting.
enum class Segment {
  Compute, Forward, Backward, Optimizer, Reduce, Prefill, Decode, Other,  // compute phases
  Exposed, Bubble, Idle,                                                   // waiting
  Unknown
};

Segment segment(const std::string& phase) {
  static const std::pair<const char*, Segment> names[] = {
      {"compute", Segment::Compute},   {"forward", Segment::Forward},  {"backward", Segment::Backward},
      {"optimizer", Segment::Optimizer}, {"reduce", Segment::Reduce},  {"prefill", Segment::Prefill},
      {"decode", Segment::Decode},     {"other", Segment::Other},      {"exposed communication", Segment::Exposed},
      {"pipeline bubble", Segment::Bubble}, {"idle", Segment::Idle}};
  for (const auto& [name, s] : names)
    if (phase == name) return s;
  return Segment::Unknown;
}

Colour colour(Segment s) {
  switch (s) {
    case Segment::Compute:
    case Segment::Forward: return Colour::Blue;
    case Segment::Backward: return Colour::Teal;
    case Segment::Optimizer: return Colour::Green;
    case Segment::Reduce: return Colour::Yellow;
    case Segment::Prefill: return Colour::Purple;
    case Segment::Decode: return Colour::Mauve;
    case Segment::Other: return Colour::Grey;
    case Segment::Exposed: return Colour::Orange;
    case Segment::Bubble: return Colour::Red;
    case Segment::Idle: return Colour::Silver;
    case Segment::Unknown: break;
  }
  return Colour::Slate;
}

Colour colour(BoxKind k) {
  switch (k) {
    case BoxKind::Compute: return Colour::Blue;
    case BoxKind::Communication: return Colour::Orange;
    case BoxKind::Waiting: return Colour::Red;
  }
  return Colour::Slate;
}

// A run's line and bar: predicted blue against the measured red, else the palette in order.
Colour run_colour(size_t i, const Comparison& c) {
  static constexpr Colour palette[] = {Colour::Blue,   Colour::Red,   Colour::Green,
                                       Colour::Orange, Colour::Mauve, Colour::Brown};
  if (c.runs.size() == 2 && c.paired()) return static_cast<int>(i) == c.reference ? Colour::Red : Colour::Blue;
  return palette[i % 6];
}

std::string legend(const std::vector<std::pair<std::string, Colour>>& items) {
  std::string out = "<div class=\"legend\">";
  for (const auto& [name, colour] : items)
    out += fmt::format("<span><i style=\"background:{}\"></i>{}</span>", svg::hex(colour), esc(name));
  return out + "</div>";
}

// The breakdown chart's frame: the phases drawn, the largest total, the bars' width, where the run
// names go, and y(seconds) in pixels.
struct Bars {
  std::vector<std::string> phases;
  double max = 0, width = 0, label_y = 0;
  std::function<double(double)> y;
};

// One run's stacked bar at x: a segment per phase, its total above, its name below.
std::string bar(const RunStats& r, const Bars& f, double x) {
  double base = 0;
  std::string marks;
  for (const auto& p : f.phases) {
    double v = r.phase(p);
    if (v <= 1e-9 * f.max) continue;  // rounding residue of a phase that is not there
    marks += Tag("rect").attr("class", "seg").attr("data-phase", p).attr("x", x, 1).attr("y", f.y(base + v), 1)
                 .attr("width", f.width, 0).attr("height", f.y(base) - f.y(base + v), 2)
                 .attr("fill", svg::hex(colour(segment(p))))
                 .wrap(Tag("title").wrap(esc(fmt::format("{}: {} {}", r.name, p, seconds(v)))));
    base += v;
  }
  marks += Tag("text").attr("class", "value").attr("x", x + f.width / 2, 1).attr("y", f.y(base) - 5, 1)
               .attr("text-anchor", "middle").wrap(esc(seconds(base)));
  marks += Tag("text").attr("class", "label").attr("x", x + f.width / 2, 1).attr("y", f.label_y, 0)
               .attr("text-anchor", "middle").wrap(esc(r.name));
  return Tag("g").attr("class", "bar").attr("data-run", r.name).wrap(marks);
}
}  // namespace

std::vector<std::string> phases_drawn(const Comparison& c) {
  std::vector<std::string> out;
  for (const auto& k : phase_order(c.runs)) {
    bool any = false;
    for (const auto& r : c.runs) any |= r.phase(k) > 1e-9 * r.step_mean;
    if (any) out.push_back(k);
  }
  return out;
}

// Stacked bars of the step's phases, one bar per run, side by side.
std::string breakdown_chart(const Comparison& c) {
  const double H = 260, left = 70, gap = 50;
  Bars f{phases_drawn(c), 0, 90, H + 30, {}};
  for (const auto& r : c.runs) {
    double t = 0;
    for (const auto& p : f.phases) t += r.phase(p);
    f.max = std::max({f.max, t, r.step_mean});
  }
  const svg::Axis axis = svg::nice_axis(f.max);
  const double W = left + c.runs.size() * (f.width + gap) + 20;
  f.y = [&](double s) { return 10 + H - s / axis.top * H; };
  std::string out = svg::open("chart-breakdown", W, H + 50) + svg::time_rows(axis, left, W - 10, f.y);
  for (size_t i = 0; i < c.runs.size(); ++i) out += bar(c.runs[i], f, left + gap / 2 + i * (f.width + gap));
  std::vector<std::pair<std::string, Colour>> items;
  for (const auto& p : f.phases) items.push_back({p, colour(segment(p))});
  return out + "</svg>" + legend(items);
}

// Step time over steps: one line per run, one point per step.
std::string steps_chart(const Comparison& c) {
  size_t steps = 0;
  double max = 0;
  for (const auto& r : c.runs) {
    steps = std::max(steps, r.step_seconds.size());
    for (double t : r.step_seconds) max = std::max(max, t);
  }
  const svg::Axis axis = svg::nice_axis(max);
  const double W = 720, H = 220, left = 70, right = 20;
  auto x = [&](size_t s) { return left + (steps > 1 ? s * (W - left - right) / (steps - 1) : (W - left - right) / 2); };
  auto y = [&](double t) { return 10 + H - t / axis.top * H; };
  std::string out = svg::open("chart-steps", W, H + 40) + svg::time_rows(axis, left, W - right, y);
  size_t every = std::max<size_t>(1, steps / 10);
  for (size_t s = 0; s < steps; s += every)
    out += Tag("text").attr("class", "tick").attr("x", x(s), 1).attr("y", H + 28, 0).attr("text-anchor", "middle")
               .wrap(std::to_string(s));
  const bool points = steps <= 400;
  for (size_t i = 0; i < c.runs.size(); ++i) {
    const auto& r = c.runs[i];
    const char* stroke = svg::hex(run_colour(i, c));
    std::string line;
    for (size_t s = 0; s < r.step_seconds.size(); ++s) line += fmt::format("{:.1f},{:.1f} ", x(s), y(r.step_seconds[s]));
    std::string series =
        Tag("polyline").attr("fill", "none").attr("stroke", stroke).attr("stroke-width", 2).attr("points", line).empty();
    if (points)
      for (size_t s = 0; s < r.step_seconds.size(); ++s)
        series += Tag("circle").attr("class", "pt").attr("cx", x(s), 1).attr("cy", y(r.step_seconds[s]), 1).attr("r", 3)
                      .attr("fill", stroke)
                      .wrap(Tag("title").wrap(esc(fmt::format("{} step {}: {}", r.name, s, seconds(r.step_seconds[s])))));
    out += Tag("g").attr("class", "series").attr("data-run", r.name).wrap(series);
  }
  std::vector<std::pair<std::string, Colour>> items;
  for (size_t i = 0; i < c.runs.size(); ++i) items.push_back({c.runs[i].name, run_colour(i, c)});
  return out + "</svg>" + legend(items);
}

namespace {
// A bar of the per-collective chart: the error in percent (a pair of runs) or the time (one run).
struct CollectiveBar {
  std::string label, text;
  double value;
};

std::vector<CollectiveBar> collective_bars(const Comparison& c) {
  std::vector<CollectiveBar> rows;
  const bool paired = c.paired();
  for (const auto& col : c.runs[paired ? c.predicted : 0].collectives) {
    if (!paired) {
      rows.push_back({col.label, seconds(col.mean_seconds), col.mean_seconds});
      continue;
    }
    // Only a percentage is a bar; a difference under the floor, or a collective the reference lacks, is text.
    const CollectiveStats* ref = c.runs[c.reference].collective(col.label);
    const ErrorCell e = error_cell(c, c.predicted, col.mean_seconds, ref ? ref->mean_seconds : NAN);
    std::string text = format_error(e);
    if (ref) text += fmt::format(" ({} vs {})", seconds(col.mean_seconds), seconds(ref->mean_seconds));
    rows.push_back({col.label, text, e.kind == ErrorCell::Kind::Percent ? e.value : 0});
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const CollectiveBar& a, const CollectiveBar& b) { return std::abs(a.value) > std::abs(b.value); });
  return rows;
}
}  // namespace

// Per collective: the error of the predicted run against the reference (or, for one run, its
// time per occurrence), largest first, at most 30 rows.
std::string collectives_chart(const Comparison& c) {
  std::vector<CollectiveBar> rows = collective_bars(c);
  if (rows.empty()) return "<p class=\"missing\">No collectives in these runs.</p>";
  const bool paired = c.paired();
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
  std::string out = svg::open("chart-collectives", W, H);
  out += Tag("line").attr("class", "axis").attr("x1", zero, 1).attr("x2", zero, 1).attr("y1", 0).attr("y2", H, 0).empty();
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    double y = 5 + i * row_h, len = std::abs(r.value) * scale;
    Colour fill = !paired ? Colour::Blue : std::abs(r.value) <= 10 ? Colour::Green : Colour::Red;
    std::string row = Tag("text").attr("class", "label").attr("x", label_w - 8, 0).attr("y", y + 14, 1)
                          .attr("text-anchor", "end").wrap(esc(r.label));
    row += Tag("rect").attr("x", r.value < 0 ? zero - len : zero, 1).attr("y", y + 3, 1).attr("width", std::max(len, 0.5), 1)
               .attr("height", row_h - 6, 0).attr("fill", svg::hex(fill))
               .wrap(Tag("title").wrap(esc(r.label + ": " + r.text)));
    row += Tag("text").attr("class", "value").attr("x", label_w + plot + 8, 0).attr("y", y + 14, 1).wrap(esc(r.text));
    out += Tag("g").attr("class", "row").wrap(row);
  }
  std::string note = paired ? "Error of one occurrence, predicted against measured (green within ±10 %)."
                            : "Time of one occurrence.";
  if (total > rows.size()) note += fmt::format(" The {} largest of {} collectives; all in summary.csv.", rows.size(), total);
  return out + "</svg><p class=\"note\">" + note + "</p>";
}

// One step per run (the one nearest the median), a lane per rank and run, runs of a rank one
// above the other, on one time axis.
std::string timelines_chart(const Comparison& c) {
  double span = 0;
  size_t world = 0;
  for (const auto& r : c.runs) span = std::max(span, r.timeline_span), world = std::max(world, r.timeline.size());
  if (world == 0 || span <= 0) return "<p class=\"missing\">No trace.json in the run directories: no timelines.</p>";
  const size_t shown = std::min<size_t>(world, 64);
  const svg::Axis axis = svg::nice_axis(span);
  const double W = 900, left = 150, right = 20, lane = 9, rank_gap = 4;
  const double rank_h = c.runs.size() * lane + rank_gap;
  const double H = 30 + shown * rank_h + 10;
  auto x = [&](double t) { return left + t / axis.top * (W - left - right); };
  std::string out = svg::open("chart-timelines", W, H) + svg::time_columns(axis, 20, H - 5, x);
  for (size_t rank = 0; rank < shown; ++rank) {
    for (size_t i = 0; i < c.runs.size(); ++i) {
      const auto& r = c.runs[i];
      double y = 24 + rank * rank_h + i * lane;
      std::string lane_marks = Tag("text").attr("class", "lanelabel").attr("x", left - 6, 0).attr("y", y + lane - 1.5, 1)
                                   .attr("text-anchor", "end").wrap(esc(fmt::format("rank {} {}", rank, r.name)));
      if (rank < r.timeline.size())
        for (const auto& b : r.timeline[rank])
          lane_marks += Tag("rect").attr("x", x(b.start), 1).attr("y", y, 1)
                            .attr("width", std::max(x(b.end) - x(b.start), 0.3), 2).attr("height", lane - 1, 0)
                            .attr("fill", svg::hex(colour(b.kind))).empty();
      out += Tag("g").attr("class", "lane").attr("data-run", r.name).attr("data-rank", static_cast<int>(rank))
                 .wrap(lane_marks);
    }
  }
  std::string note = "Step ";
  for (size_t i = 0; i < c.runs.size(); ++i)
    note += fmt::format("{}{} of {}", i ? ", " : "", c.runs[i].timeline_step, esc(c.runs[i].name));
  note += " (the step nearest each run's median), from its first op start.";
  if (shown < world) note += fmt::format(" The first {} of {} ranks.", shown, world);
  return out + "</svg>" +
         legend({{"compute", colour(BoxKind::Compute)},
                 {"communication", colour(BoxKind::Communication)},
                 {"waiting in a recv", colour(BoxKind::Waiting)}}) +
         "<p class=\"note\">" + note + "</p>";
}

}  // namespace clustertwin::reports
