// Routes between the nodes that run ranks, computed with Boost.Graph: shortest paths in hops that
// pass only through nodes that forward. Unreachable pairs are an error naming both nodes.
#pragma once

#include <string>
#include <vector>

#include "topologies/topology.h"

namespace clustertwin::topo {

struct Hop {
  int link = -1;
  bool up = true;  // traversed a -> b
};

struct Route {
  std::vector<Hop> hops;
  double bottleneck = 0;  // bytes/s: the slowest hop's bandwidth
  double latency = 0;     // seconds: sum of hop latencies
};

class Routes {
 public:
  // Routes between every ordered pair of compute nodes.
  explicit Routes(const Topology& t);
  bool reachable(int src_node, int dst_node) const;
  // Throws core::InputError for a pair with no path, naming both nodes and, when a node that does
  // not forward blocks the only path, that node: a pair that must talk and cannot is an error.
  const Route& between(int src_node, int dst_node) const;

 private:
  int n_ = 0;
  std::vector<Route> routes_;        // n_ x n_, by node index
  std::vector<std::string> errors_;  // n_ x n_: why a pair is unreachable ("" when reachable)
};

}  // namespace clustertwin::topo
