#include "sim/platform.h"

#include <fmt/format.h>
#include <simgrid/s4u/Link.hpp>
#include <simgrid/s4u/NetZone.hpp>

#include "topologies/routing.h"

namespace clustertwin::sim {

namespace sg4 = simgrid::s4u;

std::vector<sg4::Host*> build_platform(const topo::Topology& t, const std::vector<std::pair<int, int>>& talks) {
  topo::Routes routes(t);
  auto* zone = sg4::create_full_zone(t.name);

  std::vector<sg4::Host*> node_host(t.nodes.size(), nullptr);
  for (int n : t.compute_nodes()) {
    double speed = t.nodes[n].device->sustained_flops(core::DType::F32);
    node_host[n] = zone->create_host(t.nodes[n].name, speed);
    node_host[n]->seal();
  }

  // Per physical link: a split-duplex link (one resource per direction, UP = a -> b), or one
  // shared resource when the link is half-duplex.
  std::vector<sg4::Link*> links(t.links.size());
  for (size_t i = 0; i < t.links.size(); ++i) {
    const auto& l = t.links[i];
    std::string name = fmt::format("{}-{}#{}", t.nodes[l.a].name, t.nodes[l.b].name, i);
    sg4::Link* link = l.type.full_duplex ? zone->create_split_duplex_link(name, l.type.bandwidth)
                                         : zone->create_link(name, l.type.bandwidth);
    links[i] = link->set_latency(l.type.latency)->seal();
  }
  auto in_route = [&](const topo::Hop& hop) {
    if (!t.links[hop.link].type.full_duplex) return sg4::LinkInRoute(links[hop.link]);
    return sg4::LinkInRoute(links[hop.link], hop.up ? sg4::LinkInRoute::Direction::UP : sg4::LinkInRoute::Direction::DOWN);
  };

  auto compute = t.compute_nodes();
  for (auto [a, b] : talks) {
    int src = compute.at(a), dst = compute.at(b);
    std::vector<sg4::LinkInRoute> route;
    for (const auto& hop : routes.between(src, dst).hops) route.push_back(in_route(hop));
    zone->add_route(node_host[src]->get_netpoint(), node_host[dst]->get_netpoint(), nullptr, nullptr, route, false);
  }
  zone->seal();

  std::vector<sg4::Host*> rank_host;
  for (int n : compute) rank_host.push_back(node_host[n]);
  return rank_host;
}

}  // namespace clustertwin::sim
