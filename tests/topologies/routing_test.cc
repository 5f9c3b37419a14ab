#include "topologies/routing.h"

#include <gtest/gtest.h>

namespace clustertwin::topo {
namespace {

const char* kStar = R"(name: star
nodes:
  - {name: mini1, device: mac-mini-m4, forwards: FWD}
  - {name: mini2, device: mac-mini-m4}
  - {name: mini3, device: mac-mini-m4}
links:
  - {between: [mini1, mini2], type: tb4}
  - {between: [mini1, mini3], type: eth-1g}
)";

Topology star(bool hub_forwards) {
  std::string y = kStar;
  y.replace(y.find("FWD"), 3, hub_forwards ? "true" : "false");
  return parse_topology(y, "star.yaml");
}

TEST(Routing, LeafToLeafThroughForwardingHub) {
  Topology t = star(true);
  Routes routes(t);
  const Route& r = routes.between(1, 2);
  ASSERT_EQ(r.hops.size(), 2u);
  EXPECT_EQ(r.hops[0].link, 0);
  EXPECT_FALSE(r.hops[0].up);  // mini2 -> mini1 is link 0 traversed b -> a
  EXPECT_EQ(r.hops[1].link, 1);
  EXPECT_TRUE(r.hops[1].up);
  EXPECT_DOUBLE_EQ(r.bottleneck, 940e6 / 8);  // the 1 GbE hop
  EXPECT_DOUBLE_EQ(r.latency, 210e-6 + 100e-6);
}

// The 4-mini Thunderbolt 4 star (hub mini1 bridges in software). From the tb4 preset: 210 us a
// hop, and the bridging hub adds forward_latency 210 us: spoke to spoke is 210 + 210 + 210 = 630 us,
// as the simulator charges it (sim/platform.cc); hub to spoke crosses no forwarder, 210 us.
TEST(Routing, LatencyIncludesEachForwardingNodeCrossed) {
  Topology t = load_topology(CLUSTERTWIN_SOURCE_DIR "/topologies/examples/tb4-star-4minis.yaml");
  Routes routes(t);
  const int mini1 = t.find("mini1"), mini2 = t.find("mini2"), mini3 = t.find("mini3");
  EXPECT_TRUE(forwards_in_software(t, mini1));
  EXPECT_FALSE(forwards_in_software(t, mini2));
  const Route& spokes = routes.between(mini2, mini3);
  EXPECT_EQ(transit_forwarders(t, spokes), std::vector<int>{mini1});
  EXPECT_NEAR(spokes.latency, 420e-6, 1e-12);  // the links alone
  EXPECT_NEAR(route_latency(t, spokes), 630e-6, 1e-12);
  const Route& from_hub = routes.between(mini1, mini3);
  EXPECT_TRUE(transit_forwarders(t, from_hub).empty());
  EXPECT_NEAR(route_latency(t, from_hub), 210e-6, 1e-12);
  EXPECT_NEAR(route_latency(t, routes.between(mini3, mini1)), 210e-6, 1e-12);
}

// A switch forwards in hardware: no forwarder, no latency added.
TEST(Routing, SwitchIsNoForwardingResource) {
  Topology t = parse_topology(R"(name: sw
nodes:
  - {name: a, device: mac-mini-m4}
  - {name: b, device: mac-mini-m4}
  - {name: sw, kind: switch}
links:
  - {between: [a, sw], type: eth-10g}
  - {between: [b, sw], type: eth-10g}
)", "sw.yaml");
  Routes routes(t);
  const Route& r = routes.between(0, 1);
  EXPECT_FALSE(forwards_in_software(t, 2));
  EXPECT_TRUE(transit_forwarders(t, r).empty());
  EXPECT_DOUBLE_EQ(route_latency(t, r), r.latency);
}

TEST(Routing, HubThatDoesNotForwardBlocksLeavesAndIsNamed) {
  Topology t = star(false);
  Routes routes(t);
  EXPECT_TRUE(routes.reachable(0, 1));
  EXPECT_FALSE(routes.reachable(1, 2));
  try {
    routes.between(1, 2);
    FAIL();
  } catch (const core::InputError& e) {
    EXPECT_STREQ(e.what(),
                 "star.yaml:3:5: error: [T010 forwarding-off] node 'mini2' cannot reach node 'mini3': the only path passes through "
                 "'mini1', which does not forward\n"
                 "hint: set 'forwards: true' on 'mini1' (IP forwarding or a Thunderbolt Bridge), or add a direct link");
  }
}

TEST(Routing, DisconnectedNodes) {
  Topology t = parse_topology("name: t\nnodes:\n  - {name: a, device: mac-mini-m4}\n  - {name: b, device: mac-mini-m4}\n", "t.yaml");
  Routes routes(t);
  try {
    routes.between(0, 1);
    FAIL();
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no link path connects node 'a' to node 'b'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace clustertwin::topo
