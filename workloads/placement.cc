#include "workloads/placement.h"

#include <algorithm>

#include <fmt/format.h>

#include "topologies/placement.h"
#include "topologies/routing.h"

namespace clustertwin::work {

namespace {
std::vector<std::string> rank_node_names_of(const topo::Topology& t) {
  std::vector<std::string> out;
  for (size_t i = 0; i < t.nodes.size(); ++i)
    if (t.nodes[i].runs_rank()) out.push_back(t.nodes[i].name);
  return out;
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += fmt::format("{}'{}'", out.empty() ? "" : ", ", n);
  return out;
}

// A misspelt name most likely means a node the list leaves out: suggest among those first.
std::string suggest_node(const std::string& name, const Placement& p, const std::vector<std::string>& runs) {
  std::vector<std::string> left_out;
  for (const auto& r : runs)
    if (std::none_of(p.nodes.begin(), p.nodes.end(), [&](const PlacedNode& e) { return e.name == r; })) left_out.push_back(r);
  if (!core::closest_name(name, left_out).empty()) return core::suggest(name, left_out);
  return core::suggest(name, runs);
}

std::vector<int> listed_order(const Placement& p, const topo::Topology& t) {
  const std::vector<std::string> runs = rank_node_names_of(t);
  std::vector<int> order;
  std::vector<bool> named(t.nodes.size(), false);
  for (const auto& e : p.nodes) {
    const int n = t.find(e.name);
    if (n < 0)
      fail_at(e.where, fmt::format("topology '{}' has no node '{}'", t.name, e.name), suggest_node(e.name, p, runs));
    if (!t.nodes[n].runs_rank())
      fail_at(e.where,
              fmt::format("node '{}' of topology '{}' runs no rank (it is a {})", e.name, t.name,
                          t.nodes[n].is_switch ? "switch" : "control machine"),
              fmt::format("remove it; the nodes that run ranks are {}", quoted_list(runs)));
    named[n] = true;
    order.push_back(n);
  }
  std::vector<std::string> missing;
  for (const auto& name : runs)
    if (!named[t.find(name)]) missing.push_back(name);
  if (!missing.empty())
    fail_at(p.where,
            fmt::format("placement lists {} of the {} nodes that run ranks in topology '{}'", order.size(), runs.size(), t.name),
            fmt::format("add {} (every node that runs a rank appears once)", quoted_list(missing)));
  return order;
}

std::string describe_ring(const topo::Topology& t, const topo::RingHops& h) {
  std::string out;
  if (h.unreachable > 0)
    out = fmt::format("{} neighbour pair{} with no route; the others: ", h.unreachable, h.unreachable == 1 ? "" : "s");
  out += fmt::format("{} link{} crossed in all", h.total, h.total == 1 ? "" : "s");
  if (h.from >= 0)
    out += fmt::format(", at most {} between neighbours ({} -> {})", h.longest, t.nodes[h.from].name, t.nodes[h.to].name);
  return out;
}
}  // namespace

std::vector<int> placement_order(const Workload& w, const topo::Topology& t) {
  switch (w.placement.kind) {
    case PlacementKind::FileOrder: return {};
    case PlacementKind::Auto: return topo::ring_order(t);
    case PlacementKind::Listed: return listed_order(w.placement, t);
  }
  return {};
}

topo::Topology placed(const Workload& w, const topo::Topology& t) {
  topo::Topology out = t;
  const std::vector<int> order = placement_order(w, t);
  if (!order.empty()) out.placement = topo::ranks_on(t, order);
  return out;
}

std::string explain_placement(const Workload& w, const topo::Topology& p) {
  const char* how = w.placement.kind == PlacementKind::Auto     ? "placement: auto, the ring of ranks along the routes"
                    : w.placement.kind == PlacementKind::Listed ? "placement: as listed"
                                                                : "file order; 'placement: auto' orders the ring along the routes";
  std::string out = fmt::format("Placement ({})\n", how);
  const auto ranks = p.rank_nodes();
  for (size_t r = 0; r < ranks.size(); ++r) out += fmt::format("  rank {:<3} -> {}\n", r, p.nodes[ranks[r]].name);
  const topo::Routes routes(p);
  const auto compute = p.compute_nodes();
  if (compute.size() < 2) return out + "\n";
  out += fmt::format("  ring of ranks 0 -> 1 -> ... -> 0: {}\n", describe_ring(p, topo::ring_hops(routes, compute)));
  if (w.placement.kind == PlacementKind::Auto) {
    topo::Topology file = p;
    file.placement.clear();
    const topo::Routes file_routes(file);
    out += fmt::format("  in file order: {}\n", describe_ring(file, topo::ring_hops(file_routes, file.compute_nodes())));
  }
  return out + "\n";
}

}  // namespace clustertwin::work
