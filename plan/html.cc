#include "plan/html.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/format.h"
#include "plan/rank.h"
#include "reports/svg.h"

namespace clustertwin::plan {
namespace {
using reports::svg::esc;
using reports::svg::Tag;

// Which cost the chart's x axis shows: price when every evaluated candidate has one, else energy
// per token when every one has a power, else none.
struct CostAxis {
  std::string title, unit;
  double (*of)(const Outcome&) = nullptr;
};

double price_of(const Outcome& o) { return o.price; }

CostAxis cost_axis(const std::vector<Outcome>& o) {
  bool price = true, power = true, any = false;
  for (const auto& x : o) {
    if (x.status != Status::Ok) continue;
    any = true;
    price = price && x.price > 0;
    power = power && x.power > 0 && tokens_per_second(x) > 0;
  }
  if (!any) return {};
  if (price) return {"list price of the devices and Thunderbolt cables", "US$", price_of};
  if (power) return {"energy per token (devices' power under load)", "J/token", joules_per_token};
  return {};
}

std::string number(double v) { return fmt::format("{:.4g}", v); }
std::string tick(double v) { return fmt::format("{:.6g}", v); }

std::string chart(const std::vector<Candidate>& c, const std::vector<Outcome>& o, const CostAxis& axis,
                  int best) {
  std::vector<ParetoPoint> points;
  for (size_t i = 0; i < o.size(); ++i)
    if (o[i].status == Status::Ok) points.push_back({static_cast<int>(i), axis.of(o[i]), tokens_per_second(o[i])});
  const auto front = pareto_front(points);
  double max_cost = 0, max_rate = 0;
  for (const auto& p : points) max_cost = std::max(max_cost, p.cost), max_rate = std::max(max_rate, p.throughput);
  const auto xa = reports::svg::nice_axis(max_cost), ya = reports::svg::nice_axis(max_rate);
  const double w = 760, h = 420, left = 70, right = 20, top = 20, bottom = 50;
  auto x = [&](double v) { return left + (w - left - right) * v / xa.top; };
  auto y = [&](double v) { return h - bottom - (h - top - bottom) * v / ya.top; };
  std::string out;
  for (double v = 0; v <= ya.top * 1.0001; v += ya.tick) {
    out += Tag("line").attr("class", "grid").attr("x1", left, 0).attr("x2", w - right, 0).attr("y1", y(v), 1)
               .attr("y2", y(v), 1).empty();
    out += Tag("text").attr("class", "tick").attr("x", left - 6, 0).attr("y", y(v) + 4, 1).attr("text-anchor", "end")
               .wrap(esc(tick(v)));
  }
  for (double v = 0; v <= xa.top * 1.0001; v += xa.tick)
    out += Tag("text").attr("class", "tick").attr("x", x(v), 1).attr("y", h - bottom + 16, 0)
               .attr("text-anchor", "middle").wrap(esc(tick(v)));
  out += Tag("text").attr("x", (left + w - right) / 2, 0).attr("y", h - 10, 0).attr("text-anchor", "middle")
             .wrap(esc(fmt::format("{} ({})", axis.title, axis.unit)));
  out += Tag("text").attr("x", 14, 0).attr("y", (top + h - bottom) / 2, 0).attr("text-anchor", "middle")
             .attr("transform", fmt::format("rotate(-90 14 {:.0f})", (top + h - bottom) / 2))
             .wrap("tokens/s");
  std::string line;
  for (const auto& p : front) line += fmt::format("{:.1f},{:.1f} ", x(p.cost), y(p.throughput));
  out += Tag("polyline").attr("class", "front").attr("points", line).attr("fill", "none")
             .attr("stroke", reports::svg::hex(reports::svg::Colour::Orange)).attr("stroke-width", 2).empty();
  // The frontier's points last, so a point behind it at the same place does not hide its colour.
  std::stable_partition(points.begin(), points.end(), [&](const ParetoPoint& p) {
    return std::none_of(front.begin(), front.end(), [&](auto& f) { return f.candidate == p.candidate; });
  });
  for (const auto& p : points) {
    const bool on_front = std::any_of(front.begin(), front.end(), [&](auto& f) { return f.candidate == p.candidate; });
    const auto colour = p.candidate == best ? reports::svg::Colour::Red
                        : on_front          ? reports::svg::Colour::Orange
                                            : reports::svg::Colour::Blue;
    out += Tag("circle").attr("class", on_front ? "mark front-mark" : "mark").attr("cx", x(p.cost), 1)
               .attr("cy", y(p.throughput), 1).attr("r", p.candidate == best ? 6 : 4)
               .attr("fill", reports::svg::hex(colour))
               .wrap(Tag("title").wrap(esc(fmt::format("#{} {}: {} tokens/s, {} {}", p.candidate, c[p.candidate].label(),
                                                        number(p.throughput), number(p.cost), axis.unit))));
  }
  // data-marks / data-front: what a test (or a reader of the DOM) counts without parsing geometry.
  std::string head = reports::svg::open("pareto", w, h);
  head.insert(head.find(" class="), fmt::format(" data-marks=\"{}\" data-front=\"{}\" data-visible=\"1\"",
                                                points.size(), front.size()));
  return head + out + "</svg>";
}

std::string table(const Spec& s, const std::vector<Candidate>& c, const std::vector<Outcome>& o,
                  const std::vector<int>& order) {
  std::string out = "<table id=\"ranked\"><thead><tr><th>#</th><th>candidate</th><th>" + esc(name(s.objective)) +
                    "</th><th>tokens/s</th><th>step</th><th>price</th><th>J/token</th><th>why it loses</th></tr></thead><tbody>";
  const Outcome* best = !order.empty() && o[order.front()].status == Status::Ok ? &o[order.front()] : nullptr;
  for (int i : order) {
    const Outcome& x = o[i];
    if (x.status != Status::Ok) continue;
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                       i, esc(c[i].label()), esc(objective_text(s, x)), esc(number(tokens_per_second(x))),
                       esc(core::format_seconds(x.summary.step_mean)),
                       x.price > 0 ? esc(fmt::format("${:.0f}", x.price)) : "-",
                       x.power > 0 ? esc(number(joules_per_token(x))) : "-",
                       best && best != &x ? esc(why_loses(x, *best)) : "best");
  }
  out += "</tbody></table>";
  std::string rejected;
  for (int i : order)
    if (o[i].status == Status::Rejected)
      rejected += fmt::format("<li>#{} {}: {} ({})</li>", i, esc(c[i].label()), esc(o[i].reason), esc(o[i].refused_by));
  if (!rejected.empty()) out += "<h2>Rejected</h2><ul id=\"rejected\">" + rejected + "</ul>";
  return out;
}
}  // namespace

std::vector<ParetoPoint> pareto_front(std::vector<ParetoPoint> points) {
  std::stable_sort(points.begin(), points.end(), [](const ParetoPoint& a, const ParetoPoint& b) {
    return a.cost != b.cost ? a.cost < b.cost : a.throughput > b.throughput;
  });
  std::vector<ParetoPoint> front;
  for (const auto& p : points)
    if (front.empty() || p.throughput > front.back().throughput) front.push_back(p);
  return front;
}

std::string plan_html(const Spec& s, const std::vector<Candidate>& c, const std::vector<Outcome>& o) {
  const auto order = ranking(s, o);
  const int best = !order.empty() && o[order.front()].status == Status::Ok ? order.front() : -1;
  std::string body = fmt::format("<h1>clustertwin plan</h1><p class=\"meta\">topology <b>{}</b>, workload <b>{}</b>, "
                                 "objective <b>{}</b>, {} candidates</p>",
                                 esc(s.topology), esc(s.workload), esc(name(s.objective)), c.size());
  const CostAxis axis = cost_axis(o);
  if (axis.of)
    body += "<h2>Throughput against cost</h2><p>Each point is an evaluated candidate; the line joins those no other "
            "beats on both (the Pareto frontier); the red point is the best by the objective.</p>" +
            chart(c, o, axis, best);
  else
    body += "<p class=\"warn\">No chart: a candidate's devices have neither a list price nor a power in their presets "
            "(`clustertwin presets` lists them).</p>";
  body += "<h2>Candidates, best first</h2>" + table(s, c, o, order);
  return "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>clustertwin plan</title><style>"
         "body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}.grid{stroke:#e4e4e4}.tick{font-size:11px;fill:#555}"
         ".warn{color:#a33}</style></head><body>" +
         body + "</body></html>\n";
}

}  // namespace clustertwin::plan
