#include "reports/topology_chart.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/format.h"
#include "reports/svg.h"
#include "topologies/topology.h"

namespace clustertwin::reports {

namespace {
using svg::Colour;
using svg::esc;
using svg::Tag;

// Green at 0 to red at full use.
std::string utilisation_colour(double u) {
  u = std::clamp(u, 0.0, 1.0);
  int r = static_cast<int>(89 + u * (225 - 89)), g = static_cast<int>(161 - u * (161 - 87)),
      b = static_cast<int>(79 - u * (79 - 89));
  return fmt::format("#{:02x}{:02x}{:02x}", r, g, b);
}

using Point = std::pair<double, double>;

struct Layout {
  const topo::Topology* topology = nullptr;
  std::vector<Point> pos;  // per node
  int hub = -1;            // the star's centre, or -1
};

// A star hub (a node linked to every other, and no other link) in the middle, the rest on a circle.
Layout layout(const topo::Topology& t, double cx, double cy, double radius) {
  const int n = static_cast<int>(t.nodes.size());
  std::vector<int> degree(n, 0);
  for (const auto& l : t.links) ++degree[l.a], ++degree[l.b];
  Layout out;
  out.topology = &t;
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

// Every run's utilisation of link l: "predicted 12 % / measured 15 %".
std::string utilisation_text(const Comparison& c, size_t l) {
  std::string text;
  for (const auto& r : c.runs)
    if (l < r.links.size())
      text += fmt::format("{}{} {}", text.empty() ? "" : " / ", r.name, core::format_percent(r.links[l].utilisation * 100, 0));
  return text;
}

// The label of a link from a to b: nearer the outer end, so labels of a star's spokes do not meet
// at the hub, and away from the line (left of a link that leans left, right of one that leans right).
std::string link_label(const topo::Link& L, Point a, Point b, int hub, const std::string& text) {
  auto [x1, y1] = a;
  auto [x2, y2] = b;
  double lx = L.a == hub ? x1 + 0.6 * (x2 - x1) : L.b == hub ? x2 + 0.6 * (x1 - x2) : (x1 + x2) / 2;
  double ly = L.a == hub ? y1 + 0.6 * (y2 - y1) : L.b == hub ? y2 + 0.6 * (y1 - y2) : (y1 + y2) / 2;
  double dx = std::abs(x2 - x1) < 1 ? 0 : (L.b == hub ? x1 - x2 : x2 - x1);
  const char* anchor = dx < -1 ? "end" : dx > 1 ? "start" : "middle";
  lx += dx < -1 ? -10 : dx > 1 ? 10 : 0;
  return Tag("text").attr("class", "linklabel").attr("x", lx, 1).attr("y", ly - 6, 1).attr("text-anchor", anchor)
      .wrap(esc(fmt::format("{} · {}", L.type.preset, text.empty() ? "-" : text)));
}

// Link l: a line as wide and red as the reference run uses it, its tooltip, and (few nodes) its label.
std::string link_mark(const Comparison& c, const RunStats& ref, size_t l, const Layout& lay, bool small) {
  const topo::Topology& t = *lay.topology;
  const auto& L = t.links[l];
  const double u = l < ref.links.size() ? ref.links[l].utilisation : 0;
  const std::string text = utilisation_text(c, l);
  auto [x1, y1] = lay.pos[L.a];
  auto [x2, y2] = lay.pos[L.b];
  std::string title = fmt::format("{} - {} ({}, {}): {}", t.nodes[L.a].name, t.nodes[L.b].name, L.type.preset,
                                  core::format_rate(L.type.bandwidth), text);
  const double width = (small ? 1 : 2) + (small ? 4 : 10) * std::clamp(u, 0.0, 1.0);
  std::string marks = Tag("line").attr("x1", x1, 1).attr("y1", y1, 1).attr("x2", x2, 1).attr("y2", y2, 1)
                          .attr("stroke", utilisation_colour(u)).attr("stroke-width", width, 1)
                          .wrap(Tag("title").wrap(esc(title)));
  if (!small) marks += link_label(L, lay.pos[L.a], lay.pos[L.b], lay.hub, text);
  return Tag("g").attr("class", "link").wrap(marks);
}

// A forwarding node's utilisation in every run ("predicted 52 % / measured 61 %"), empty for
// nodes that do not forward in software; `u` gets the reference run's.
std::string forwarding_text(const Comparison& c, const RunStats& ref, int node, double& u) {
  std::string text;
  for (const auto& r : c.runs)
    for (const auto& f : r.forwarders)
      if (f.node == node) {
        text += fmt::format("{}{} {}", text.empty() ? "" : " / ", r.name, core::format_percent(f.utilisation * 100, 0));
        if (&r == &ref) u = f.utilisation;
      }
  return text;
}

// A node: a dot with a tooltip among many, else a named circle with its device below. A node that
// forwards in software is ringed as wide and red as its transit load, which its label gives.
std::string node_mark(const topo::Node& node, Point p, bool small, const std::string& forwarding = {}, double u = 0) {
  auto [x, y] = p;
  std::string sub = node.is_switch ? "switch" : node.device ? node.device->preset : node.role;
  if (small && !forwarding.empty()) sub += " · forwards: " + forwarding;
  if (small)
    return Tag("g").attr("class", "node").wrap(
        Tag("circle").attr("cx", x, 1).attr("cy", y, 1).attr("r", node.is_switch ? 14 : 6)
            .attr("fill", svg::hex(node.is_switch ? Colour::Stone : Colour::Blue))
            .wrap(Tag("title").wrap(esc(fmt::format("{} ({})", node.name, sub)))));
  std::string marks = Tag("circle").attr("cx", x, 1).attr("cy", y, 1).attr("r", 22)
                          .attr("fill", svg::hex(node.is_switch ? Colour::Stone : Colour::Mist)).empty();
  if (!forwarding.empty())
    marks += Tag("circle").attr("cx", x, 1).attr("cy", y, 1).attr("r", 25).attr("fill", "none")
                 .attr("stroke", utilisation_colour(u)).attr("stroke-width", 2 + 6 * std::clamp(u, 0.0, 1.0), 1).empty();
  marks += Tag("text").attr("x", x, 1).attr("y", y + 4, 1).attr("text-anchor", "middle").attr("class", "nodename")
               .wrap(esc(node.name));
  marks += Tag("text").attr("x", x, 1).attr("y", y + 36, 1).attr("text-anchor", "middle").attr("class", "tick")
               .wrap(esc(sub));
  if (!forwarding.empty())  // a white halo keeps it readable where it crosses the links of a hub
    marks += Tag("text").attr("x", x, 1).attr("y", y + 50, 1).attr("text-anchor", "middle").attr("class", "linklabel")
                 .attr("stroke", "#fff").attr("stroke-width", 3).attr("paint-order", "stroke")
                 .wrap(esc("forwards: " + forwarding));
  return Tag("g").attr("class", "node").wrap(marks);
}
}  // namespace

// The topology, each link's width and colour from the reference run's utilisation.
std::string topology_chart(const Comparison& c) {
  const RunStats* with = nullptr;
  for (const auto& r : c.runs)
    if (r.run->topology && !with) with = &r;
  if (!with)
    return "<p class=\"missing\">No topology.yaml in the run directories (runs written by an older clustertwin): no "
           "topology drawing.</p>";
  const topo::Topology& t = *with->run->topology;
  const double W = 720, H = 420;
  const bool small = t.nodes.size() > 16;  // many nodes: dots with tooltips, no labels
  const Layout lay = layout(t, W / 2, H / 2, 160);
  const RunStats& ref = c.runs[c.reference >= 0 ? c.reference : 0];
  std::string out = svg::open("chart-topology", W, H);
  for (size_t l = 0; l < t.links.size(); ++l) out += link_mark(c, ref, l, lay, small);
  bool forwarders = false;
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    double u = 0;
    const std::string fwd = forwarding_text(c, ref, static_cast<int>(i), u);
    forwarders |= !fwd.empty();
    out += node_mark(t.nodes[i], lay.pos[i], small, fwd, u);
  }
  return out + "</svg><p class=\"note\">Link width and colour: mean utilisation over a step in the busier direction (" +
         esc(ref.name) + "); " + (small ? "hover a link for every run's." : "labels give every run's.") +
         (forwarders ? " A ring around a node that forwards: its transit bytes over its forward bandwidth." : "") + "</p>";
}

}  // namespace clustertwin::reports
