// What a cluster costs to run and to buy, from its presets: the devices' power at the wall under
// load and their list prices (presets.yaml cites each figure).
#pragma once

#include "topologies/topology.h"

namespace clustertwin::topo {

// Watts at the wall of every node that runs ranks, at its device preset's `power`; 0 when one of
// those devices' power is unknown.
double power_under_load(const Topology& t);

// US dollars of those nodes' devices at their presets' list `price`; 0 when one is unknown.
double device_price(const Topology& t);

// US dollars of the cables, one per link at its type's `price` (Thunderbolt cables are priced;
// Ethernet cables and switches are not: no list price was found to cite), and how many links have
// no price.
struct CablePrice {
  double dollars = 0;
  int unpriced = 0;
};
CablePrice cable_price(const Topology& t);

}  // namespace clustertwin::topo
