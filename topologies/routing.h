// Routes between the nodes that run ranks, computed with Boost.Graph. A route passes only through
// nodes that forward, never forwards RDMA (an RDMA pair needs its own cable), and, when the file
// gives addresses with subnets, follows IP: a node reaches its own subnets directly (shortest path
// across the bridges and switches of that subnet) and anything else through its static routes,
// each gateway forwarding onwards. Unreachable pairs are an error naming both nodes and the
// missing piece: no route on a node, forwarding off on a node, a link between different subnets.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
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
  double latency = 0;      // seconds: sum of hop latencies (forwarding nodes' own cost not included: route_latency)
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

namespace detail {
class Router;
}

// Routes are found on first use and kept: a simulation asks only for the pairs that talk (a ring
// of 1024 nodes needs 2048 of its million pairs). Not thread-safe; refers to `t`, which must
// outlive it.
class Routes {
 public:
  explicit Routes(const Topology& t);
  ~Routes();
  Routes(Routes&&) noexcept;
  Routes& operator=(Routes&&) noexcept;

  // A node to itself is reachable, over no link (ranks sharing a node).
  bool reachable(int src_node, int dst_node) const;
  // Throws core::InputError for a pair with no route, naming both nodes and the missing piece: a
  // pair that must talk and cannot is an error.
  const Route& between(int src_node, int dst_node) const;
  // Why a pair is unreachable (why == Blocked::None when it is reachable).
  const Unreachable& why(int src_node, int dst_node) const;

 private:
  using Result = std::variant<Route, Unreachable>;
  const Result& find(int src_node, int dst_node) const;

  int n_ = 0;
  std::unique_ptr<detail::Router> router_;
  mutable std::unordered_map<int64_t, Result> found_;  // by src * n + dst
};

// Human-readable route: "pi4 -> mini3 -> mini2 -> mini1".
std::string describe(const Topology& t, const Route& r);

// A node that spends its own capacity on the traffic it passes on: it forwards in software (a
// Thunderbolt Bridge hub, a Mac routing for a Pi) with a forwarding bandwidth. A switch forwards in
// hardware at line rate and is no such resource. The simulator makes each one a link shared by
// every route that crosses it (sim/platform.cc); `topology show` and the reports count the same.
bool forwards_in_software(const Topology& t, int node);

// The nodes of `r` between its source and its destination that forward in software: where a
// message pays Topology::forwarding_of(node).latency once more and shares the node's capacity.
std::vector<int> transit_forwarders(const Topology& t, const Route& r);

// The latency a message pays over `r`: its hops' latencies plus the forward latency of every
// transit forwarder (Route::latency leaves the forwarders out).
double route_latency(const Topology& t, const Route& r);

}  // namespace clustertwin::topo
