// Striped channels: which cable each channel of a route crosses.
#include "topologies/channels.h"

#include <gtest/gtest.h>

namespace clustertwin::topo {
namespace {

// Two TB4 cables a-b (one written b-a, one slower), a TB5 RDMA cable a-b (another transport),
// and one cable b-c: channels of a -> c spread over the two TCP cables of the first hop and share
// the only cable of the second.
const char* kCables = R"(name: cables
nodes:
  - {name: a, device: mac-studio-m2-ultra, forwards: true}
  - {name: b, device: mac-studio-m2-ultra, forwards: true}
  - {name: c, device: mac-studio-m2-ultra}
links:
  - {between: [a, b], type: tb4}
  - {between: [b, a], type: tb4, bandwidth: 8Gbps, latency: 300us}
  - {between: [a, b], type: tb5-rdma}
  - {between: [b, c], type: tb4}
)";

TEST(Channels, ParallelLinksShareEndsAndTransport) {
  Topology t = parse_topology(kCables, "cables.yaml");
  EXPECT_EQ(parallel_links(t, 0), (std::vector<int>{0, 1}));
  EXPECT_EQ(parallel_links(t, 1), (std::vector<int>{0, 1}));
  EXPECT_EQ(parallel_links(t, 2), (std::vector<int>{2}));
  EXPECT_EQ(parallel_links(t, 3), (std::vector<int>{3}));
}

TEST(Channels, EachChannelTakesTheNextParallelCableInTheSameDirection) {
  Topology t = parse_topology(kCables, "cables.yaml");
  Routes routes(t);
  const Route& r = routes.between(0, 2);
  ASSERT_EQ(r.hops.size(), 2u);
  const int first = r.hops[0].link;  // whichever TCP cable routing chose
  ASSERT_TRUE(first == 0 || first == 1);
  const Route c0 = on_channel(t, r, 0), c1 = on_channel(t, r, 1), c2 = on_channel(t, r, 2);
  EXPECT_EQ(c0.hops[0].link, first);
  EXPECT_EQ(c1.hops[0].link, 1 - first);
  EXPECT_EQ(c2.hops[0].link, first);  // two cables: channel 2 wraps to the first
  // Link 1 is written b -> a, so a -> b crosses it "down"; link 0 "up".
  EXPECT_EQ(c1.hops[0].up, c1.hops[0].link == 0);
  EXPECT_EQ(c1.hops[1].link, 3);  // one cable b-c: every channel shares it
  EXPECT_TRUE(c1.hops[1].up);
  // The slower cable's figures: 300 us + tb4's 210 us, bottleneck 8 Gb/s.
  const Route& slow = c0.hops[0].link == 1 ? c0 : c1;
  EXPECT_NEAR(slow.latency, 300e-6 + 210e-6, 1e-9);
  EXPECT_NEAR(slow.bottleneck, 8e9 / 8, 1);
}

}  // namespace
}  // namespace clustertwin::topo
