// Routes on smolcluster's hybrid cluster (shared/seeds/001): Pis behind forwarding Macs, static
// routes on every node, one subnet per physical link.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "topologies/routing.h"
#include "topologies/topology.h"

namespace clustertwin::topo {
namespace {

const char* kHybrid = CLUSTERTWIN_SOURCE_DIR "/topologies/examples/smolcluster-hybrid.yaml";

std::string text_of(const char* path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The example with one edit: `from` replaced by `to` (exactly once).
Topology edited(const std::string& from, const std::string& to) {
  std::string y = text_of(kHybrid);
  size_t at = y.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  EXPECT_EQ(y.find(from, at + 1), std::string::npos) << "ambiguous edit: " << from;
  y.replace(at, from.size(), to);
  return parse_topology(y, "hybrid.yaml");
}

std::vector<std::string> names(const Topology& t, const Route& r) {
  std::vector<std::string> out;
  for (int n : r.nodes) out.push_back(t.nodes[n].name);
  return out;
}

TEST(Hybrid, LoadsItsSubnetsAndRoutes) {
  Topology t = load_topology(kHybrid);
  EXPECT_TRUE(t.ip_mode);
  ASSERT_EQ(t.compute_nodes().size(), 5u);  // the MacBook is the controller: no rank
  const Node& pi4 = t.nodes[t.find("pi4")];
  EXPECT_EQ(pi4.address, "192.168.51.4");
  ASSERT_EQ(pi4.interfaces.size(), 1u);
  EXPECT_EQ(pi4.interfaces[0].prefix, 24);  // from network pi4-link
  ASSERT_EQ(pi4.routes.size(), 2u);
  EXPECT_EQ(subnet_str(pi4.routes[0].to), "10.10.0.0/24");
  EXPECT_EQ(ipv4_str(pi4.routes[0].via), "192.168.51.2");
  EXPECT_EQ(t.nodes[t.find("mini1")].address, "10.10.0.1");
  EXPECT_EQ(pi4.device->preset, "raspberry-pi-4");
}

TEST(Hybrid, Pi4ToMini1CrossesMini3AndMini2WithAGigabitBottleneck) {
  Topology t = load_topology(kHybrid);
  Routes routes(t);
  const Route& r = routes.between(t.find("pi4"), t.find("mini1"));
  EXPECT_EQ(names(t, r), (std::vector<std::string>{"pi4", "mini3", "mini2", "mini1"}));
  ASSERT_EQ(r.hops.size(), 3u);
  EXPECT_EQ(t.links[r.hops[0].link].type.preset, "eth-1g");
  EXPECT_EQ(t.links[r.hops[1].link].type.preset, "tb4");
  EXPECT_EQ(t.links[r.hops[2].link].type.preset, "tb4");
  EXPECT_DOUBLE_EQ(r.bottleneck, 940e6 / 8);
  EXPECT_DOUBLE_EQ(r.latency, 100e-6 + 210e-6 + 210e-6);
}

TEST(Hybrid, Pi4ReachesPi5OnlyThroughTheMacs) {
  Topology t = load_topology(kHybrid);
  Routes routes(t);
  const Route& r = routes.between(t.find("pi4"), t.find("pi5"));
  EXPECT_EQ(names(t, r), (std::vector<std::string>{"pi4", "mini3", "mini2", "mini1", "pi5"}));
  EXPECT_DOUBLE_EQ(r.bottleneck, 940e6 / 8);
  const Route& back = routes.between(t.find("pi5"), t.find("pi4"));
  EXPECT_EQ(names(t, back), (std::vector<std::string>{"pi5", "mini1", "mini2", "mini3", "pi4"}));
}

TEST(Hybrid, MacsReachEachOtherOverThunderboltOnly) {
  Topology t = load_topology(kHybrid);
  Routes routes(t);
  const Route& r = routes.between(t.find("mini1"), t.find("mini3"));
  EXPECT_EQ(names(t, r), (std::vector<std::string>{"mini1", "mini2", "mini3"}));
  EXPECT_DOUBLE_EQ(r.bottleneck, 16.4e9 / 8);
}

TEST(Hybrid, ForwardingOffOnMini3MakesPi4UnreachableNamingMini3) {
  Topology t = edited("    forwards: true      # IP forwarding: Pi 4", "    forwards: false     # IP forwarding: Pi 4");
  Routes routes(t);
  int pi4 = t.find("pi4");
  for (const char* peer : {"mini1", "mini2", "pi5"}) {
    EXPECT_FALSE(routes.reachable(pi4, t.find(peer))) << peer;
    EXPECT_EQ(routes.why(pi4, t.find(peer)).why, Blocked::NotForwarding);
    EXPECT_EQ(routes.why(pi4, t.find(peer)).node, t.find("mini3"));
  }
  EXPECT_TRUE(routes.reachable(pi4, t.find("mini3")));  // its own gateway still answers
  try {
    routes.between(pi4, t.find("mini1"));
    FAIL();
  } catch (const core::InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "hybrid.yaml:47:5: error: [T010 forwarding-off] node 'pi4' cannot reach node 'mini1' (10.10.0.1): the route goes through "
              "'mini3' (192.168.51.2), which does not forward\n"
              "hint: set 'forwards: true' on 'mini3' (macOS: sudo sysctl -w net.inet.ip.forwarding=1; Linux: sudo "
              "sysctl -w net.ipv4.ip_forward=1)");
  }
}

TEST(Hybrid, PiWithoutItsStaticRouteCannotReachTheFabric) {
  Topology t = edited("      - {to: 10.10.0.0/24, via: 192.168.51.2}     # nmcli", "      # removed");
  Routes routes(t);
  const Unreachable& u = routes.why(t.find("pi4"), t.find("mini1"));
  EXPECT_EQ(u.why, Blocked::NoRoute);
  EXPECT_EQ(u.node, t.find("pi4"));
  EXPECT_EQ(u.message, "node 'pi4' cannot reach node 'mini1' (10.10.0.1): 'pi4' has no route to 10.10.0.0/24");
  EXPECT_EQ(u.hint,
            "add to 'pi4': routes: [{to: 10.10.0.0/24, via: 192.168.51.2}]; on Linux: sudo ip route add 10.10.0.0/24 "
            "via 192.168.51.2");
  // A link path exists (pi4 - mini3 - mini2 - mini1): the route, not the cable, is missing.
  EXPECT_TRUE(routes.reachable(t.find("pi4"), t.find("mini3")));
  EXPECT_TRUE(routes.reachable(t.find("pi4"), t.find("pi5")));  // its other route still works
}

TEST(Hybrid, MacWithoutTheReturnRouteCannotReachThePi) {
  // The guide as written: mini1 has no route back to Pi 4's subnet.
  Topology t = edited("    routes:\n      - {to: 192.168.51.0/24, via: 10.10.0.3}   # Pi 4's subnet, behind mini3\n", "");
  Routes routes(t);
  const Unreachable& u = routes.why(t.find("mini1"), t.find("pi4"));
  EXPECT_EQ(u.why, Blocked::NoRoute);
  EXPECT_EQ(u.message, "node 'mini1' cannot reach node 'pi4' (192.168.51.4): 'mini1' has no route to 192.168.51.0/24");
  EXPECT_EQ(u.hint,
            "add to 'mini1': routes: [{to: 192.168.51.0/24, via: 10.10.0.3}]; on macOS: sudo route -n add -net "
            "192.168.51.0/24 10.10.0.3");
  // pi5's packets for pi4 reach mini1 first, which then has nowhere to send them.
  const Unreachable& via = routes.why(t.find("pi5"), t.find("pi4"));
  EXPECT_EQ(via.message,
            "node 'pi5' cannot reach node 'pi4' (192.168.51.4): the route reaches 'mini1', which has no route to "
            "192.168.51.0/24");
}

TEST(Hybrid, PiOnTheWrongSubnetIsADifferentSubnetError) {
  Topology t = edited("      - {name: eth0, address: 192.168.51.4, network: pi4-link}",
                      "      - {name: eth0, address: 192.168.52.4/24}");
  Routes routes(t);
  const Unreachable& u = routes.why(t.find("pi4"), t.find("mini1"));
  EXPECT_EQ(u.why, Blocked::SubnetMismatch);
  EXPECT_EQ(u.message,
            "node 'pi4' cannot reach node 'mini1': the link mini3 - pi4 joins different subnets ('mini3' is "
            "192.168.51.2/24, 'pi4' is 192.168.52.4/24)");
}

TEST(Hybrid, MiddleMacThatDoesNotBridgeSplitsTheChain) {
  Topology t = edited("    forwards: true      # the middle of the chain", "    forwards: false     # the middle of the chain");
  Routes routes(t);
  const Unreachable& u = routes.why(t.find("mini1"), t.find("mini3"));
  EXPECT_EQ(u.why, Blocked::NotForwarding);
  EXPECT_EQ(u.node, t.find("mini2"));
  EXPECT_EQ(u.message, "node 'mini1' cannot reach node 'mini3': the only path passes through 'mini2', which does not forward");
}

}  // namespace
}  // namespace clustertwin::topo
