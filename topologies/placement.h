// Rank placement: which node runs which rank. The workload's `placement:` (workloads/placement.h)
// chooses an order once, the Program records it as node names, and `place` sets it on the topology
// every consumer reads (Topology::rank_nodes): both backends, check, reports and explain.
#pragma once

#include <string>
#include <vector>

#include "topologies/routing.h"
#include "topologies/topology.h"

namespace clustertwin::topo {

// The links a ring over nodes crosses: each node sends to the next, the last to the first.
struct RingHops {
  int total = 0;        // links crossed by all the neighbour routes (one direction of the ring)
  int longest = 0;      // links of the longest neighbour route (a lockstep ring waits for it)
  int from = -1, to = -1;  // that route's nodes
  int unreachable = 0;  // neighbour pairs with no route (not counted in total)
};
// `nodes` in ring order, each once; a ring of fewer than two nodes crosses nothing.
RingHops ring_hops(const Routes& routes, const std::vector<int>& nodes);

// An order of t's compute nodes (in file order, t.placement ignored) for a ring of ranks along the
// routes: fewest unreachable neighbours, then fewest links crossed in all, then the shortest
// longest route. File order when nothing is better. Exact for up to kExactRingNodes nodes (the
// first node stays first: a ring has no start); greedy nearest neighbour improved by 2-opt above.
inline constexpr int kExactRingNodes = 10;
std::vector<int> ring_order(const Topology& t);

// The node of each rank when the compute nodes run in `node_order` (each once), every node's
// `ranks` consecutive.
std::vector<int> ranks_on(const Topology& t, const std::vector<int>& node_order);

// Sets t.placement from one node name per rank (core::Program::placement); empty = file order.
// Throws core::InputError naming the topology file when the names do not fit it: a node it lacks
// or that runs no rank, or a node not named as many times as its `ranks`.
void place(Topology& t, const std::vector<std::string>& node_of_rank);
// A copy of t placed as the Program says (place); t unchanged when node_of_rank is empty.
Topology with_placement(const Topology& t, const std::vector<std::string>& node_of_rank);
// The node name of each rank (rank_nodes()), as core::Program::placement records it.
std::vector<std::string> rank_node_names(const Topology& t);

}  // namespace clustertwin::topo
