#include "topologies/placement.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <tuple>

#include <fmt/format.h>

namespace clustertwin::topo {

namespace {
// Links between every pair of the ring's candidates (-1: unreachable).
using HopTable = std::vector<std::vector<int>>;

HopTable hop_table(const Routes& routes, const std::vector<int>& nodes) {
  HopTable h(nodes.size(), std::vector<int>(nodes.size(), 0));
  for (size_t i = 0; i < nodes.size(); ++i)
    for (size_t j = 0; j < nodes.size(); ++j)
      if (i != j)
        h[i][j] = routes.reachable(nodes[i], nodes[j]) ? static_cast<int>(routes.between(nodes[i], nodes[j]).hops.size()) : -1;
  return h;
}

// What the search minimises, in order: unreachable neighbours, links in all, the longest route.
using Cost = std::tuple<int, int, int>;

// Cost of the ring visiting table positions `order`.
Cost ring_cost(const HopTable& h, const std::vector<int>& order) {
  int unreachable = 0, total = 0, longest = 0;
  if (order.size() < 2) return {0, 0, 0};
  for (size_t i = 0; i < order.size(); ++i) {
    int hops = h[order[i]][order[(i + 1) % order.size()]];
    if (hops < 0) {
      ++unreachable;
      continue;
    }
    total += hops;
    longest = std::max(longest, hops);
  }
  return {unreachable, total, longest};
}

// Every ring with position 0 first: lexicographic permutations, so the first best is kept on ties
// and file order (the first permutation) wins when nothing beats it.
std::vector<int> exact_ring(const HopTable& h) {
  std::vector<int> order(h.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<int> best = order;
  Cost best_cost = ring_cost(h, order);
  while (std::next_permutation(order.begin() + 1, order.end())) {
    Cost c = ring_cost(h, order);
    if (c < best_cost) best_cost = c, best = order;
  }
  return best;
}

// Nearest neighbour from position 0 (ties to the earlier node), then 2-opt: reverse a stretch
// while that lowers the cost.
std::vector<int> greedy_ring(const HopTable& h) {
  const int n = static_cast<int>(h.size());
  auto distance = [&](int a, int b) { return h[a][b] < 0 ? n * n : h[a][b]; };
  std::vector<int> order{0};
  std::vector<bool> used(n, false);
  used[0] = true;
  while (static_cast<int>(order.size()) < n) {
    int next = -1;
    for (int c = 0; c < n; ++c)
      if (!used[c] && (next < 0 || distance(order.back(), c) < distance(order.back(), next))) next = c;
    used[next] = true;
    order.push_back(next);
  }
  Cost cost = ring_cost(h, order);
  for (bool better = true; better;) {
    better = false;
    for (int i = 1; i + 1 < n; ++i)
      for (int j = i + 1; j < n; ++j) {
        std::reverse(order.begin() + i, order.begin() + j + 1);
        Cost c = ring_cost(h, order);
        if (c < cost) {
          cost = c;
          better = true;
        } else {
          std::reverse(order.begin() + i, order.begin() + j + 1);
        }
      }
  }
  std::vector<int> file(n);
  std::iota(file.begin(), file.end(), 0);
  return ring_cost(h, file) <= cost ? file : order;
}

std::vector<int> file_order(const Topology& t) {
  std::vector<int> out;
  for (size_t i = 0; i < t.nodes.size(); ++i)
    if (t.nodes[i].runs_rank()) out.push_back(static_cast<int>(i));
  return out;
}

[[noreturn]] void misfit(const Topology& t, const std::string& message) {
  throw core::InputError(core::format_diagnostic({t.file, 0, 0}, {}, message,
                                                 "compile the workload for this topology (the Program names the node "
                                                 "of every rank in its 'placement')"));
}
}  // namespace

RingHops ring_hops(const Routes& routes, const std::vector<int>& nodes) {
  RingHops r;
  if (nodes.size() < 2) return r;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const int a = nodes[i], b = nodes[(i + 1) % nodes.size()];
    if (!routes.reachable(a, b)) {
      ++r.unreachable;
      continue;
    }
    const int hops = static_cast<int>(routes.between(a, b).hops.size());
    r.total += hops;
    if (hops > r.longest) r.longest = hops, r.from = a, r.to = b;
  }
  return r;
}

std::vector<int> ring_order(const Topology& t) {
  Topology plain = t;
  plain.placement.clear();
  const std::vector<int> nodes = file_order(plain);
  if (nodes.size() < 3) return nodes;  // two nodes make the same ring either way
  const Routes routes(plain);
  const HopTable h = hop_table(routes, nodes);
  const std::vector<int> order = static_cast<int>(nodes.size()) <= kExactRingNodes ? exact_ring(h) : greedy_ring(h);
  std::vector<int> out;
  for (int i : order) out.push_back(nodes[i]);
  return out;
}

std::vector<int> ranks_on(const Topology& t, const std::vector<int>& node_order) {
  std::vector<int> out;
  for (int n : node_order) out.insert(out.end(), t.nodes[n].ranks, n);
  return out;
}

void place(Topology& t, const std::vector<std::string>& node_of_rank) {
  t.placement.clear();
  if (node_of_rank.empty()) return;
  std::map<int, int> count;  // node -> ranks placed on it
  std::vector<int> placement;
  for (size_t r = 0; r < node_of_rank.size(); ++r) {
    const int n = t.find(node_of_rank[r]);
    if (n < 0 || !t.nodes[n].runs_rank())
      misfit(t, fmt::format("the program places rank {} on node '{}', which {} in topology '{}'", r, node_of_rank[r],
                            n < 0 ? "is not a node" : "runs no rank", t.name));
    ++count[n];
    placement.push_back(n);
  }
  for (int n : file_order(t))
    if (count[n] != t.nodes[n].ranks)
      misfit(t, fmt::format("the program places {} rank{} on node '{}', which runs {} in topology '{}'", count[n],
                            count[n] == 1 ? "" : "s", t.nodes[n].name, t.nodes[n].ranks, t.name));
  t.placement = std::move(placement);
}

Topology with_placement(const Topology& t, const std::vector<std::string>& node_of_rank) {
  Topology out = t;
  if (!node_of_rank.empty()) place(out, node_of_rank);
  return out;
}

std::vector<std::string> rank_node_names(const Topology& t) {
  std::vector<std::string> out;
  for (int n : t.rank_nodes()) out.push_back(t.nodes[n].name);
  return out;
}

}  // namespace clustertwin::topo
