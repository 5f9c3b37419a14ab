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
