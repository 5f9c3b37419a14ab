// Routes between the nodes that run ranks, computed with Boost.Graph. A route passes only through
// nodes that forward, never forwards RDMA (an RDMA pair needs its own cable), and, when the file
// gives addresses with subnets, follows IP: a node reaches its own subnets directly (shortest path
// across the bridges and switches of that subnet) and anything else through its static routes,
// each gateway forwarding onwards. Unreachable pairs are an error naming both nodes and the
// missing piece: no route on a node, forwarding off on a node, a link between different subnets.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "topologies/topology.h"

namespace clustertwin::topo {

struct Hop {
  int link = -1;
  bool up = true;  // traversed a -> b
};

struct Route {
  std::vector<Hop> hops;
  std::vector<int> nodes;  // source, every node crossed, destination
  double bottleneck = 0;   // bytes/s: the slowest hop's bandwidth in the direction travelled
  double latency = 0;      // seconds: sum of hop latencies (forwarding nodes' own cost not included)
};

// What is missing when a pair cannot talk.
enum class Blocked {
  None,
  NoPath,            // no chain of links joins them at all
  NotForwarding,     // the path crosses a node that does not forward
  NoRoute,           // a node has no route (or its gateway does not exist)
  SubnetMismatch,    // a link, or a route's gateway, sits across different subnets
  NoAddress,         // the destination has no address to route to
  RdmaNotForwarded,  // only RDMA links join them through a third node
  RoutingLoop,       // static routes send the packet around in circles
};
std::string_view name(Blocked b);

struct Unreachable {
  Blocked why = Blocked::None;
  int node = -1;        // where the route breaks: the node to fix (or -1)
  int link = -1;        // the link to fix, for SubnetMismatch on a link (or -1)
  core::SourcePos pos;  // where in the file to fix it
  std::string message;  // "node 'a' cannot reach node 'b': ..."
  std::string hint;
  std::string diagnostic() const;  // "file:line:col: error: message\nhint: hint"
};

class Routes {
 public:
  // Routes between every ordered pair of compute nodes.
  explicit Routes(const Topology& t);
  bool reachable(int src_node, int dst_node) const;
  // Throws core::InputError for a pair with no route, naming both nodes and the missing piece: a
  // pair that must talk and cannot is an error.
  const Route& between(int src_node, int dst_node) const;
  // Why a pair is unreachable (why == Blocked::None when it is reachable).
  const Unreachable& why(int src_node, int dst_node) const;

 private:
  int n_ = 0;
  std::vector<Route> routes_;            // n_ x n_, by node index
  std::vector<Unreachable> unreachable_;  // n_ x n_
};

// Human-readable route: "pi4 -> mini3 -> mini2 -> mini1".
std::string describe(const Topology& t, const Route& r);

}  // namespace clustertwin::topo
