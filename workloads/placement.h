// The workload's `placement:` resolved against a topology: the one place the rank -> node order is
// chosen. compile() records it in the Program; everything after reads it from there (topo::place).
#pragma once

#include <string>
#include <vector>

#include "topologies/topology.h"
#include "workloads/workload.h"

namespace clustertwin::work {

// The compute nodes in rank order as `w` places them on `t` (each once); empty for file order.
// Throws core::InputError at the placement's file:line:col for a node `t` lacks (with a
// did-you-mean), a node that runs no rank, or a list that leaves out nodes that run ranks.
std::vector<int> placement_order(const Workload& w, const topo::Topology& t);

// `t` with `w`'s placement set (a copy; t's own placement when `w` sets none).
topo::Topology placed(const Workload& w, const topo::Topology& t);

// For `explain`: rank -> node on `t`, placed as the Program says (topo::place), and the links the
// ring of ranks crosses; for `auto`, also file order's figures, the ones it improved on.
std::string explain_placement(const Workload& w, const topo::Topology& t);

}  // namespace clustertwin::work
