// Which cables a striped connection uses. A runtime that stripes (MLX's ring: one connection per
// cable to each neighbour) puts its channel c between two nodes on the c-th of the parallel links
// joining each hop's two nodes: links between the same two nodes with the same transport, counted
// from the route's own link (channel 0 is the route itself). One cable per hop: every channel
// shares it. The simulator routes channels this way and the reports put their bytes on the same
// links.
#pragma once

#include <vector>

#include "topologies/routing.h"

namespace clustertwin::topo {

// The links joining the same two nodes as link `l` with its transport, in file order (`l` included).
std::vector<int> parallel_links(const Topology& t, int l);

// Route `r` with every hop moved to the channel's parallel link, in the same direction of travel;
// the latency is the moved links' (forwarding nodes' own cost not included, as in Route).
Route on_channel(const Topology& t, const Route& r, int channel);

}  // namespace clustertwin::topo
