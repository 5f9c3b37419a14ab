// topo::ring_order (the `placement: auto` search) and topo::place (a Program's placement set on a
// topology). Hop counts are recomputed here from Routes::between, pair by pair, not with ring_hops.
#include "topologies/placement.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "topologies/routing.h"
#include "topologies/topology.h"

namespace clustertwin::topo {
namespace {

const char* kHybrid = CLUSTERTWIN_SOURCE_DIR "/topologies/examples/smolcluster-hybrid.yaml";

std::vector<std::string> names(const Topology& t, const std::vector<int>& nodes) {
  std::vector<std::string> out;
  for (int n : nodes) out.push_back(t.nodes[n].name);
  return out;
}

struct Ring {
  int total = 0, longest = 0;
};
// The links each neighbour pair of the ring crosses, from its route.
Ring hops_by_hand(const Topology& t, const std::vector<std::string>& order) {
  Routes routes(t);
  Ring r;
  for (size_t i = 0; i < order.size(); ++i) {
    const int a = t.find(order[i]), b = t.find(order[(i + 1) % order.size()]);
    const int hops = static_cast<int>(routes.between(a, b).hops.size());
    r.total += hops;
    r.longest = std::max(r.longest, hops);
  }
  return r;
}

// A chain of forwarding nodes c0 - c1 - ... - c(n-1), written in the file in `file_order`.
Topology chain(const std::vector<int>& file_order) {
  std::string y = "name: chain\nnodes:\n";
  for (int i : file_order) y += "  - {name: c" + std::to_string(i) + ", device: mac-mini-m4, forwards: true}\n";
  y += "links:\n";
  for (size_t i = 0; i + 1 < file_order.size(); ++i)
    y += "  - {between: [c" + std::to_string(i) + ", c" + std::to_string(i + 1) + "], type: eth-1g}\n";
  return parse_topology(y, "chain.yaml");
}

// File order puts the Pis side by side in the ring: pi4 -> pi5 crosses mini3, mini2 and mini1.
// Every ring over a tree crosses each link at least twice (out and back), so 8 links is the least
// for the hybrid's 4 links and file order already has it; auto keeps the 8 and shortens the
// longest neighbour route from 4 links to 2, which a lockstep ring waits for at every step.
TEST(RingOrder, TheHybridsPisAreNoLongerNeighbours) {
  const Topology t = load_topology(kHybrid);
  const std::vector<std::string> file = names(t, t.compute_nodes());
  EXPECT_EQ(file, (std::vector<std::string>{"mini1", "mini2", "mini3", "pi4", "pi5"}));
  const Ring before = hops_by_hand(t, file);
  EXPECT_EQ(before.total, 8);
  EXPECT_EQ(before.longest, 4);

  const std::vector<std::string> order = names(t, ring_order(t));
  ASSERT_EQ(order.size(), 5u);
  EXPECT_TRUE(std::is_permutation(order.begin(), order.end(), file.begin()));
  EXPECT_EQ(order[0], "mini1");  // a ring has no start: the first node stays first
  for (size_t i = 0; i < order.size(); ++i) {
    const std::string& a = order[i];
    const std::string& b = order[(i + 1) % order.size()];
    EXPECT_FALSE((a == "pi4" && b == "pi5") || (a == "pi5" && b == "pi4")) << "the Pis are neighbours at " << i;
  }
  const Ring after = hops_by_hand(t, order);
  EXPECT_EQ(after.total, 8);
  EXPECT_EQ(after.longest, 2);
  EXPECT_EQ(order, (std::vector<std::string>{"mini1", "mini3", "pi4", "mini2", "pi5"}));

  const RingHops h = ring_hops(Routes(t), ring_order(t));
  EXPECT_EQ(h.total, after.total);
  EXPECT_EQ(h.longest, after.longest);
  EXPECT_EQ(h.unreachable, 0);
}

// A chain written out of order: file order's ring zig-zags (12 links); auto walks it out and back.
TEST(RingOrder, AScrambledChainDropsToTwiceItsLinks) {
  const Topology t = chain({0, 2, 4, 1, 3});
  const Ring before = hops_by_hand(t, names(t, t.compute_nodes()));
  EXPECT_EQ(before.total, 12);  // c0-c2 2, c2-c4 2, c4-c1 3, c1-c3 2, c3-c0 3
  const Ring after = hops_by_hand(t, names(t, ring_order(t)));
  EXPECT_EQ(after.total, 8);
  EXPECT_EQ(after.longest, 2);
}

// Above kExactRingNodes the search is greedy (nearest neighbour, then 2-opt): on a chain of 14 it
// still finds the least, twice the 13 links.
TEST(RingOrder, GreedyAboveTheExactLimitFindsTheChainsLeast) {
  std::vector<int> scrambled{0, 7, 3, 12, 1, 9, 5, 13, 2, 11, 6, 4, 10, 8};
  const Topology t = chain(scrambled);
  ASSERT_GT(static_cast<int>(scrambled.size()), kExactRingNodes);
  EXPECT_GT(hops_by_hand(t, names(t, t.compute_nodes())).total, 26);
  const std::vector<int> order = ring_order(t);
  ASSERT_EQ(order.size(), scrambled.size());
  EXPECT_EQ(hops_by_hand(t, names(t, order)).total, 26);
}

// On a chain written in order, file order already crosses the least (8 links) but its closing pair
// crosses all 4: auto keeps the 8 and crosses at most 2 between neighbours.
TEST(RingOrder, AnOrderedChainKeepsItsTotalAndShortensItsLongestRoute) {
  const Topology t = chain({0, 1, 2, 3, 4});
  const Ring before = hops_by_hand(t, names(t, t.compute_nodes()));
  EXPECT_EQ(before.total, 8);
  EXPECT_EQ(before.longest, 4);
  const Ring after = hops_by_hand(t, names(t, ring_order(t)));
  EXPECT_EQ(after.total, 8);
  EXPECT_EQ(after.longest, 2);
}

// A ring cabled as a ring, in file order: one link between neighbours, nothing to improve.
TEST(RingOrder, KeepsFileOrderWhenNothingIsBetter) {
  std::string y = "name: ring\nnodes:\n";
  for (int i = 0; i < 5; ++i) y += "  - {name: r" + std::to_string(i) + ", device: mac-mini-m4}\n";
  y += "links:\n";
  for (int i = 0; i < 5; ++i)
    y += "  - {between: [r" + std::to_string(i) + ", r" + std::to_string((i + 1) % 5) + "], type: tb4}\n";
  const Topology t = parse_topology(y, "ring.yaml");
  EXPECT_EQ(ring_order(t), t.compute_nodes());
}

TEST(Place, EveryConsumerReadsTheProgramsOrder) {
  Topology t = load_topology(kHybrid);
  place(t, {"mini1", "mini3", "pi4", "mini2", "pi5"});
  EXPECT_EQ(names(t, t.rank_nodes()), (std::vector<std::string>{"mini1", "mini3", "pi4", "mini2", "pi5"}));
  EXPECT_EQ(names(t, t.compute_nodes()), (std::vector<std::string>{"mini1", "mini3", "pi4", "mini2", "pi5"}));
  EXPECT_EQ(rank_node_names(t), (std::vector<std::string>{"mini1", "mini3", "pi4", "mini2", "pi5"}));
  place(t, {});
  EXPECT_EQ(names(t, t.rank_nodes()), (std::vector<std::string>{"mini1", "mini2", "mini3", "pi4", "pi5"}));
}

TEST(Place, RanksOfOneNodeStayTogether) {
  Topology t = parse_topology("name: t\nnodes:\n  - {name: a, device: mac-studio-m3-ultra, ranks: 2}\n"
                              "  - {name: b, device: mac-mini-m4}\n",
                              "t.yaml");
  EXPECT_EQ(ranks_on(t, {1, 0}), (std::vector<int>{1, 0, 0}));
  place(t, {"b", "a", "a"});
  EXPECT_EQ(t.rank_nodes(), (std::vector<int>{1, 0, 0}));
  EXPECT_EQ(t.compute_nodes(), (std::vector<int>{1, 0}));
}

std::string place_error(const std::vector<std::string>& names) {
  Topology t = load_topology(kHybrid);
  try {
    place(t, names);
  } catch (const core::InputError& e) {
    return e.what();
  }
  return "(no error)";
}

// A Program compiled for another topology names nodes this one lacks, or not all of them.
TEST(Place, AProgramForAnotherTopologyIsRefused) {
  const std::string hint = "\nhint: compile the workload for this topology (the Program names the node of every rank in "
                           "its 'placement')";
  EXPECT_EQ(place_error({"mini1", "mini2", "mini3", "pi4", "pi6"}),
            std::string(kHybrid) + ": error: the program places rank 4 on node 'pi6', which is not a node in topology "
                                   "'smolcluster-hybrid'" + hint);
  EXPECT_EQ(place_error({"mini1", "mini2", "mini3", "pi4", "macbook"}),
            std::string(kHybrid) + ": error: the program places rank 4 on node 'macbook', which runs no rank in topology "
                                   "'smolcluster-hybrid'" + hint);
  EXPECT_EQ(place_error({"mini1", "mini2", "mini3", "pi4", "pi4"}),
            std::string(kHybrid) + ": error: the program places 2 ranks on node 'pi4', which runs 1 in topology "
                                   "'smolcluster-hybrid'" + hint);
}

}  // namespace
}  // namespace clustertwin::topo
