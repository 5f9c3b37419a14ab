// The one place that turns a topology into SimGrid zones, hosts, links and routes (SimGrid 3.32
// API: create_full_zone, create_host, create_link, add_route).
#pragma once

#include <map>
#include <utility>
#include <vector>

#include <simgrid/s4u/Host.hpp>

#include "topologies/topology.h"

namespace clustertwin::sim {

// What a message between two ranks costs beyond the bytes SimGrid moves over the route.
struct PairCost {
  double overhead = 0;  // seconds per message: the sender's plus the receiver's transport overhead
  double latency = 0;   // seconds: the route's links and forwarding nodes, in the direction travelled
  double bandwidth = 0;  // bytes/s: the route's slowest hop (forwarding caps aside); 0 unknown
};
using PairCosts = std::map<std::pair<int, int>, PairCost>;  // by (src rank, dst rank)

// A rank pair that also talks on channel c >= 1 (a stripe of a collective; channel 0 is `talks`).
struct ChannelPair {
  int src = -1, dst = -1, channel = 0;
  auto operator<=>(const ChannelPair&) const = default;
};

// FLOP/s of the timer host: a delay of d seconds executes d * kTimerSpeed FLOPs, well above
// SimGrid's work-amount precision (1e-5) for any delay of a nanosecond or more.
inline constexpr double kTimerSpeed = 1e9;

struct Platform {
  std::vector<simgrid::s4u::Host*> rank_hosts;
  simgrid::s4u::Host* timer = nullptr;  // runs pure delays: more cores than delays ever overlap
  PairCosts costs;
  // Channels >= 1: a host per (node, channel) standing for the node's end of that connection, so
  // that SimGrid gives the channel its own route (a host pair has one route); bytes move between
  // them with Comm::sendto. By (rank, channel); costs by (src rank, dst rank, channel).
  std::map<std::pair<int, int>, simgrid::s4u::Host*> channel_hosts;
  std::map<ChannelPair, PairCost> channel_costs;
};

// Builds the platform into the current engine. Only the ordered rank pairs in `talks` get a
// route; one the topology cannot route is a core::InputError.
//
//   pi5 ──eth── mini1 ──tb4── mini2
//                 │
//             [fwd:mini1]
//
// A host per node that runs ranks, speed = sustained FLOP/s (its ranks share it and talk through
// lo:NAME, a copy at half the memory bandwidth); a link per direction of each physical link, with
// that direction's figures (one shared link if half-duplex); a node that forwards adds its own
// shared resource (fwd:NAME: capacity and latency of its forwarding) to every route crossing it,
// so flows through one Mac share its forwarding capacity.
//
// Striping: channel c of a pair takes the route of channel 0 with each hop moved to its c-th
// parallel link (topo::on_channel); one cable per hop means every channel shares it.
Platform build_platform(const topo::Topology& t, const std::vector<std::pair<int, int>>& talks,
                        const std::vector<ChannelPair>& channels = {});

}  // namespace clustertwin::sim
