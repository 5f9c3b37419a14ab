// What the compilers need to know about the cluster: one site per rank (its node, device and
// usable memory), the direct links between ranks (for placement), and the rank placement of a
// hybrid plan: tensor-parallel groups on the fastest links.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "topologies/topology.h"
#include "workloads/workload.h"

namespace clustertwin::work {

struct RankSite {
  std::string node;
  topo::Device device;
  double capacity = 0;  // usable bytes: device memory x the usable fraction
};

struct Cluster {
  std::string name;
  std::vector<RankSite> ranks;
  // Direct links between ranks (no forwarding node in between), with their bandwidth, both ways;
  // ranks on one switch are linked through it at the slower of their two links.
  std::vector<std::vector<std::pair<int32_t, double>>> links;
  std::vector<double> switch_bandwidth;  // per rank: its link to a switch (0 = none)
  std::vector<int32_t> switch_of;        // per rank: the switch node it hangs on (-1 = none)

  int32_t world() const { return static_cast<int32_t>(ranks.size()); }
  // Bandwidth of the direct path between two ranks (0 = none: traffic is forwarded or routed).
  double bandwidth(int32_t a, int32_t b) const;
};

// The usable fraction of a device's memory when the workload does not set one: macOS's GPU wired
// limit on Apple devices (presets mac-*, macbook-*, ipad-*: 2/3 of memory up to 36 GB, 3/4 above),
// 0.9 elsewhere (the OS and the runtime keep the rest).
double default_usable_fraction(const topo::Device& d);

Cluster cluster_of(const topo::Topology& t, const Workload& w);
// n identical ranks on one switch (tests and benchmarks).
Cluster uniform_cluster(int n, const topo::Device& d, double link_bandwidth = 1.25e9);

// A permutation of the ranks: consecutive blocks of `block` ranks are the tensor-parallel groups.
// With fast_links, each block is grown greedily from the first unplaced rank (file order) by the
// unplaced rank with the fastest direct link to the block; file order otherwise or when no linked
// rank is left.
std::vector<int32_t> place(const Cluster& c, int block, bool fast_links);

}  // namespace clustertwin::work
