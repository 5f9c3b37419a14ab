// The one place that turns a topology into SimGrid zones, hosts, links and routes (SimGrid 3.32
// API: create_full_zone, create_host, create_split_duplex_link, add_route).
#pragma once

#include <utility>
#include <vector>

#include <simgrid/s4u/Host.hpp>

#include "topologies/topology.h"

namespace clustertwin::sim {

// Builds the platform into the current engine and returns the host of each rank. Only the ordered
// rank pairs in `talks` get a route; one the topology cannot route is a core::InputError.
//
//   mini2 ──tb4── mini1 ──tb4── mini3      a host per node that runs ranks, speed = sustained
//                                          FLOP/s; a link per physical link (split-duplex: one
//                                          resource per direction unless the preset is half-duplex);
//                                          every host pair routed along the topology's route.
std::vector<simgrid::s4u::Host*> build_platform(const topo::Topology& t,
                                                const std::vector<std::pair<int, int>>& talks);

}  // namespace clustertwin::sim
