#include "topologies/cost.h"

namespace clustertwin::topo {
namespace {
// The sum of `figure` over the compute nodes' devices; 0 when one is unknown (not positive).
template <class Figure>
double sum_over_compute_nodes(const Topology& t, Figure figure) {
  double total = 0;
  for (int n : t.compute_nodes()) {
    const auto& d = t.nodes[n].device;
    if (!d || !(figure(*d) > 0)) return 0;
    total += figure(*d);
  }
  return total;
}
}  // namespace

double power_under_load(const Topology& t) {
  return sum_over_compute_nodes(t, [](const Device& d) { return d.power; });
}

double device_price(const Topology& t) {
  return sum_over_compute_nodes(t, [](const Device& d) { return d.price; });
}

CablePrice cable_price(const Topology& t) {
  CablePrice c;
  for (const auto& l : t.links) {
    if (l.type.price > 0)
      c.dollars += l.type.price;
    else
      ++c.unpriced;
  }
  return c;
}

}  // namespace clustertwin::topo
