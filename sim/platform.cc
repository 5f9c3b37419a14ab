#include "sim/platform.h"

#include <fmt/format.h>
#include <simgrid/s4u/Link.hpp>
#include <simgrid/s4u/NetZone.hpp>

#include "topologies/channels.h"
#include "topologies/routing.h"

namespace clustertwin::sim {

namespace sg4 = simgrid::s4u;

namespace {
// The node a hop arrives at.
int arrival(const topo::Topology& t, const topo::Hop& h) { return h.up ? t.links[h.link].b : t.links[h.link].a; }


}  // namespace

Platform build_platform(const topo::Topology& t, const std::vector<std::pair<int, int>>& talks,
                        const std::vector<ChannelPair>& channels) {
  topo::Routes routes(t);
  auto* zone = sg4::create_full_zone(t.name);
  Platform out;

  std::vector<sg4::Host*> node_host(t.nodes.size(), nullptr);
  for (int n : t.compute_nodes()) {
    double speed = t.nodes[n].device->sustained_flops(core::DType::F32);
    node_host[n] = zone->create_host(t.nodes[n].name, speed)->seal();
  }
  out.timer = zone->create_host("clustertwin-timer", kTimerSpeed)->set_core_count(1 << 20)->seal();

  // Per physical link and direction its own resource with that direction's bandwidth (UP = a -> b):
  // the two ring directions never share; a half-duplex link is one resource for both directions
  // (with the a -> b figures). Latencies are not SimGrid's but PairCost's (CM02 would weigh
  // bandwidth shares by them; see the simulator's model notes).
  struct Resources {
    sg4::Link* up = nullptr;
    sg4::Link* down = nullptr;
  };
  std::vector<Resources> links(t.links.size());
  for (size_t i = 0; i < t.links.size(); ++i) {
    const auto& l = t.links[i];
    std::string name = fmt::format("{}-{}#{}", t.nodes[l.a].name, t.nodes[l.b].name, i);
    if (!l.type.full_duplex) {
      links[i].up = links[i].down = zone->create_link(name, l.bandwidth(true))->seal();
      continue;
    }
    links[i].up = zone->create_link(name + ">", l.bandwidth(true))->seal();
    links[i].down = zone->create_link(name + "<", l.bandwidth(false))->seal();
  }
  // A host that forwards (a Mac bridging or routing) spends its own capacity on transit traffic,
  // in both directions together. A switch forwards in hardware at line rate: no resource.
  std::vector<sg4::Link*> forwarder(t.nodes.size(), nullptr);
  for (size_t n = 0; n < t.nodes.size(); ++n) {
    if (!topo::forwards_in_software(t, static_cast<int>(n))) continue;
    const double bandwidth = t.forwarding_of(static_cast<int>(n)).bandwidth;
    forwarder[n] = zone->create_link(fmt::format("fwd:{}", t.nodes[n].name), bandwidth)->seal();
  }

  // Ranks sharing a node exchange through its memory: a copy reads and writes every byte, at half
  // the sustained memory bandwidth, shared by every such exchange on the node; no link crossed.
  std::vector<sg4::Link*> loopback(t.nodes.size(), nullptr);
  auto loopback_of = [&](int n) {
    if (!loopback[n])
      loopback[n] = zone->create_link(fmt::format("lo:{}", t.nodes[n].name), t.nodes[n].device->sustained_bandwidth() / 2)
                        ->seal();
    return loopback[n];
  };

  // The route from node src to node dst (channel c: each hop on its c-th parallel link) between
  // hosts hs and hd, and what a message on it costs besides its bytes.
  auto add_route = [&](sg4::Host* hs, sg4::Host* hd, int src, int dst, int c) {
    const topo::Route r = topo::on_channel(t, routes.between(src, dst), c);
    std::vector<sg4::LinkInRoute> route;
    // Each hop's link, then the forwarder it arrives at (topo::transit_forwarders, in route order);
    // the latency is topo::route_latency, what `topology show` prints.
    PairCost cost{t.links[r.hops.front().link].type.overhead + t.links[r.hops.back().link].type.overhead,
                  topo::route_latency(t, r), r.bottleneck};
    for (const auto& hop : r.hops) {
      route.emplace_back(hop.up ? links[hop.link].up : links[hop.link].down);
      int via = arrival(t, hop);
      if (via != dst && forwarder[via]) route.emplace_back(forwarder[via]);
    }
    zone->add_route(hs->get_netpoint(), hd->get_netpoint(), nullptr, nullptr, route, false);
    return cost;
  };

  const auto rank_node = t.rank_nodes();
  std::map<std::pair<int, int>, PairCost> node_costs;  // routes are per node pair, costs per rank pair
  for (auto [a, b] : talks) {
    int src = rank_node.at(a), dst = rank_node.at(b);
    if (auto known = node_costs.find({src, dst}); known != node_costs.end()) {
      out.costs[{a, b}] = known->second;
      continue;
    }
    if (src == dst) {
      zone->add_route(node_host[src]->get_netpoint(), node_host[dst]->get_netpoint(), nullptr, nullptr,
                      {sg4::LinkInRoute(loopback_of(src))}, false);
      out.costs[{a, b}] = node_costs[{src, dst}] = PairCost{};
      continue;
    }
    out.costs[{a, b}] = node_costs[{src, dst}] = add_route(node_host[src], node_host[dst], src, dst, 0);
  }
  // Channels >= 1 between their own hosts (see Platform::channel_hosts).
  std::map<std::pair<int, int>, sg4::Host*> node_channel_host;
  auto channel_host = [&](int node, int c) {
    auto& h = node_channel_host[{node, c}];
    if (!h) h = zone->create_host(fmt::format("{}#{}", t.nodes[node].name, c), 1)->seal();
    return h;
  };
  std::map<ChannelPair, PairCost> node_channel_costs;
  for (const ChannelPair& cp : channels) {
    int src = rank_node.at(cp.src), dst = rank_node.at(cp.dst);
    sg4::Host* hs = channel_host(src, cp.channel);
    sg4::Host* hd = channel_host(dst, cp.channel);
    out.channel_hosts[{cp.src, cp.channel}] = hs;
    out.channel_hosts[{cp.dst, cp.channel}] = hd;
    ChannelPair key{src, dst, cp.channel};
    if (auto known = node_channel_costs.find(key); known != node_channel_costs.end()) {
      out.channel_costs[cp] = known->second;
      continue;
    }
    if (src == dst) {
      zone->add_route(hs->get_netpoint(), hd->get_netpoint(), nullptr, nullptr, {sg4::LinkInRoute(loopback_of(src))},
                      false);
      out.channel_costs[cp] = node_channel_costs[key] = PairCost{};
      continue;
    }
    out.channel_costs[cp] = node_channel_costs[key] = add_route(hs, hd, src, dst, cp.channel);
  }
  zone->seal();

  for (int n : rank_node) out.rank_hosts.push_back(node_host[n]);
  return out;
}

}  // namespace clustertwin::sim
