#include "workloads/cluster.h"

#include <algorithm>

#include <fmt/format.h>

namespace clustertwin::work {

double Cluster::bandwidth(int32_t a, int32_t b) const {
  for (const auto& [peer, bw] : links[a])
    if (peer == b) return bw;
  if (switch_of[a] >= 0 && switch_of[a] == switch_of[b]) return std::min(switch_bandwidth[a], switch_bandwidth[b]);
  return 0;
}

double default_usable_fraction(const topo::Device& d) {
  const std::string& p = d.preset;
  bool apple = p.rfind("mac", 0) == 0 || p.rfind("ipad", 0) == 0;
  if (!apple) return 0.9;
  return d.memory <= 36.0 * (1 << 30) * 1.001 ? 2.0 / 3.0 : 0.75;  // 36 GB Macs have 36 GiB
}

namespace {
double usable(const Workload& w, const topo::Device& d) {
  return d.memory * (w.memory.usable_fraction ? *w.memory.usable_fraction : default_usable_fraction(d));
}
}  // namespace

Cluster cluster_of(const topo::Topology& t, const Workload& w) {
  Cluster c;
  c.name = t.name;
  // Ranks sharing a node split its usable memory and talk through it (a copy: half the sustained
  // memory bandwidth), faster than any cable, so placement keeps tensor-parallel groups together.
  const auto rank_node = t.rank_nodes();
  const int world = static_cast<int>(rank_node.size());
  std::vector<std::vector<int32_t>> ranks_of(t.nodes.size());
  for (int r = 0; r < world; ++r) {
    const topo::Node& n = t.nodes[rank_node[r]];
    ranks_of[rank_node[r]].push_back(r);
    c.ranks.push_back({n.ranks > 1 ? fmt::format("{}#{}", n.name, ranks_of[rank_node[r]].size() - 1) : n.name, *n.device,
                       usable(w, *n.device) / n.ranks});
  }
  c.links.resize(world);
  c.switch_bandwidth.assign(world, 0);
  c.switch_of.assign(world, -1);
  for (const auto& same : ranks_of)
    for (int32_t a : same)
      for (int32_t b : same)
        if (a != b) c.links[a].push_back({b, c.ranks[a].device.sustained_bandwidth() / 2});
  for (const auto& l : t.links) {
    double bw = std::min(l.bandwidth(true), l.bandwidth(false) > 0 ? l.bandwidth(false) : l.bandwidth(true));
    for (int32_t ra : ranks_of[l.a])
      for (int32_t rb : ranks_of[l.b]) {
        c.links[ra].push_back({rb, bw});
        c.links[rb].push_back({ra, bw});
      }
    if (t.nodes[l.b].is_switch)
      for (int32_t ra : ranks_of[l.a]) c.switch_of[ra] = l.b, c.switch_bandwidth[ra] = bw;
    if (t.nodes[l.a].is_switch)
      for (int32_t rb : ranks_of[l.b]) c.switch_of[rb] = l.a, c.switch_bandwidth[rb] = bw;
  }
  return c;
}

Cluster uniform_cluster(int n, const topo::Device& d, double link_bandwidth) {
  Cluster c;
  c.name = "uniform";
  for (int r = 0; r < n; ++r) c.ranks.push_back({"rank" + std::to_string(r), d, d.memory * default_usable_fraction(d)});
  c.links.resize(n);
  c.switch_bandwidth.assign(n, link_bandwidth);
  c.switch_of.assign(n, 0);
  return c;
}

std::vector<int32_t> place(const Cluster& c, int block, bool fast_links) {
  const int32_t n = c.world();
  std::vector<int32_t> order;
  order.reserve(n);
  if (!fast_links || block <= 1) {
    for (int32_t r = 0; r < n; ++r) order.push_back(r);
    return order;
  }
  std::vector<char> placed(n, 0);
  int32_t next = 0;  // first rank, in file order, that may still be unplaced
  auto next_unplaced = [&] {
    while (next < n && placed[next]) ++next;
    return next;
  };
  while (next_unplaced() < n) {
    std::vector<int32_t> g{next};
    placed[next] = 1;
    while (static_cast<int>(g.size()) < block && next_unplaced() < n) {
      int32_t best = -1;
      double best_bw = 0;
      for (int32_t m : g)
        for (const auto& [peer, bw] : c.links[m])
          if (!placed[peer] && bw > best_bw) best = peer, best_bw = bw;
      // A rank on the block's switch is as good as its switch link.
      int32_t f = next_unplaced();
      if (best < 0 || c.bandwidth(g[0], f) > best_bw) best = f;
      g.push_back(best);
      placed[best] = 1;
    }
    order.insert(order.end(), g.begin(), g.end());
  }
  return order;
}

}  // namespace clustertwin::work
