// The topology commands of the clustertwin binary: check (exit codes 0 / 1 / 2, workload pairs),
// topology show (tables, --dot), topology presets.
#include <gtest/gtest.h>


#include <string>

#include <fmt/format.h>

#include "run_cli.h"

namespace {

using clustertwin::cli_test::has;
using clustertwin::cli_test::Result;
using clustertwin::cli_test::run;

using clustertwin::cli_test::src;
std::string example(const std::string& name) { return src("topologies/examples/" + name); }
std::string fixture(const std::string& name) { return src("tests/topologies/fixtures/" + name); }


TEST(CheckCommand, CleanExampleExitsZero) {
  Result r = run("check " + example("smolcluster-hybrid.yaml"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output, example("smolcluster-hybrid.yaml") +
                          ": no findings (6 nodes, 4 links); checked every pair of ranks (give a WORKLOAD to check "
                          "only the pairs it uses)\n");
}

TEST(CheckCommand, WarningsAloneExitZero) {
  Result r = run("check " + example("laptop-wifi-worker.yaml"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(has(r, ": warning: [T004 wifi-collective] ")) << r.output;
  EXPECT_TRUE(has(r, ": 0 errors, 3 warnings (4 nodes, 4 links)")) << r.output;
}

TEST(CheckCommand, ErrorsExitOneWithFindingAndHint) {
  Result r = run("check " + fixture("T010-forwarding-off.yaml"));
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(has(r, fixture("T010-forwarding-off.yaml") + ":4:5: error: [T010 forwarding-off] node 'mini2' cannot "
                                                          "reach node 'pi5' (192.168.50.2): the route goes through "
                                                          "'mini1' (10.10.0.1), which does not forward\n"
                                                          "    - name: mini1\n"
                                                          "      ^\n"
                                                          "hint: set 'forwards: true' on 'mini1'"))
      << r.output;
  EXPECT_TRUE(has(r, "clustertwin: error: check: 1 error in " + fixture("T010-forwarding-off.yaml"))) << r.output;
}

TEST(CheckCommand, WorkloadNarrowsThePairsToItsRing) {
  // An RDMA ring: fine for a ring all-reduce, wrong when every pair must talk.
  Result all = run("check " + fixture("T003-rdma-not-direct.yaml"));
  EXPECT_EQ(all.code, 1) << all.output;
  Result ring = run(fmt::format("check {} {}", fixture("T003-rdma-not-direct.yaml"), src("workloads/examples/ddp-gpt2.yaml")));
  EXPECT_EQ(ring.code, 0) << ring.output;
  EXPECT_TRUE(has(ring, "no findings (4 nodes, 4 links); checked the ")) << ring.output;
  EXPECT_TRUE(has(ring, " rank pairs workload 'ddp-gpt2' uses")) << ring.output;
}

TEST(CheckCommand, BadInputExitsTwoWithPosition) {
  Result r = run("check " + src("tests/e2e/fixtures/unknown-key.yaml"));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r, "unknown-key.yaml:5:5: error: unknown key 'forward' in a node")) << r.output;
  Result missing = run("check /nonexistent/topology.yaml");
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(missing.output, "/nonexistent/topology.yaml: error: cannot open file: No such file or directory\n"
                            "hint: check the path given to TOPO\n");
}

TEST(TopologyShow, TablesOfNodesLinksAndRoutes) {
  Result r = run("topology show " + example("smolcluster-hybrid.yaml"));
  EXPECT_EQ(r.code, 0) << r.output;
  for (const char* want : {"topology 'smolcluster-hybrid'", "nodes (* the address its worker listens on)",
                           "*10.10.0.1/24 (bridge0), 192.168.50.1/24 (en0)", "pi4: 10.10.0.0/24 via 192.168.51.2",
                           "links (goodput: TCP payload, given or derived from the wire rate; goodput and latency", "routes (IP: subnets and static routes)",
                           "pi4 -> mini3 -> mini2 -> mini1 -> pi5"})
    EXPECT_TRUE(has(r, want)) << want << "\n" << r.output;
}

// The line of `out` that starts with `prefix` (after the table's indent), "" when none.
std::string line_of(const std::string& out, const std::string& prefix) {
  for (size_t at = 0; at < out.size();) {
    size_t end = out.find('\n', at);
    std::string line = out.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (line.find_first_not_of(' ') != std::string::npos && line.substr(line.find_first_not_of(' ')).rfind(prefix, 0) == 0)
      return line;
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return {};
}

// Issue 13 item 6, on the 4-mini Thunderbolt 4 star (hub mini1). The tb4 preset: 210 us a hop,
// forward_latency 210 us and forward_bandwidth 16.4 Gb/s for a Mac bridging in software. Spoke to
// spoke: 210 + 210 us of links + 210 us through mini1 = 630 us (the 420 us of the links alone
// before); hub to spoke: 210 us.
TEST(TopologyShow, ForwardingNodesAndRouteLatencyThroughThem) {
  Result r = run("topology show " + example("tb4-star-4minis.yaml"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(has(r, "forwarding nodes (their capacity is shared by every route through them, both directions "
                     "together)\n  node   forward bandwidth  forward latency  from\n"
                     "  mini1  16.4 Gb/s          210.0 us         its link presets\n"))
      << r.output;
  std::string spokes = line_of(r.output, "mini2  mini3");
  EXPECT_NE(spokes.find(" 630.0 us "), std::string::npos) << r.output;
  EXPECT_EQ(spokes.substr(spokes.size() - 30), "mini2 -> mini1 -> mini3  mini1") << r.output;
  std::string from_hub = line_of(r.output, "mini1  mini3");
  EXPECT_NE(from_hub.find(" 210.0 us "), std::string::npos) << r.output;
  EXPECT_NE(from_hub.find(" mini1 -> mini3 "), std::string::npos) << r.output;
  EXPECT_EQ(from_hub.substr(from_hub.size() - 2), " -") << r.output;  // forwarded by no one
}

TEST(TopologyShow, UnreachablePairsAreListedWithTheReason) {
  Result r = run("topology show " + fixture("T010-forwarding-off.yaml"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(has(r, "unreachable (not-forwarding)")) << r.output;
  EXPECT_TRUE(has(r, "which does not forward\nhint: set 'forwards: true' on 'mini1'")) << r.output;
}

TEST(TopologyShow, DotIsAGraphvizGraph) {
  Result r = run("topology show --dot " + example("mesh-4-studios-rdma.yaml"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.substr(0, 29), "graph \"mesh-4-studios-rdma\" {");
  EXPECT_TRUE(has(r, "\"studio1\" -- \"studio2\" [label=\"tb5-rdma\\n75 Gb/s\", color=firebrick, penwidth=2];")) << r.output;
  EXPECT_EQ(r.output.substr(r.output.size() - 2), "}\n");
}

TEST(TopologyShow, MermaidIsAFlowchartGitHubRenders) {
  Result r = run("topology show --mermaid " + example("tb4-star-3minis.yaml"));
  EXPECT_EQ(r.code, 0) << r.output;
  // The file's three minis (mini1 forwards: a double box) and its two tb4 cables at the preset's
  // goodput, purple as --dot draws Thunderbolt.
  EXPECT_EQ(r.output,
            "%% tb4-star-3minis\nflowchart LR\n"
            "  n0[[\"mini1<br/>mac-mini-m4<br/>10.10.0.1\"]]\n"
            "  n1[\"mini2<br/>mac-mini-m4<br/>10.10.0.2\"]\n"
            "  n2[\"mini3<br/>mac-mini-m4<br/>10.10.0.3\"]\n"
            "  n0 ---|\"tb4 16.4 Gb/s\"| n1\n"
            "  n0 ---|\"tb4 16.4 Gb/s\"| n2\n"
            "  linkStyle 0 stroke:purple\n"
            "  linkStyle 1 stroke:purple\n");
  Result rdma = run("topology show --mermaid " + example("mesh-4-studios-rdma.yaml"));
  EXPECT_TRUE(has(rdma, "  n0 ===|\"tb5-rdma 75 Gb/s\"| n1\n")) << rdma.output;  // RDMA: a thick line
  EXPECT_EQ(run("topology show --mermaid --dot " + example("mesh-4-studios-rdma.yaml")).code, 2);
}

TEST(TopologyPresets, FiguresWithTheirSources) {
  Result r = run("topology presets mac-mini-m4");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(has(r, "memory_bandwidth    120.00 GB/s")) << r.output;
  EXPECT_TRUE(has(r, "[S] support.apple.com/en-sg/121555")) << r.output;
  Result all = run("topology presets");
  EXPECT_TRUE(has(all, "tb5-rdma: ")) << all.output;
  EXPECT_TRUE(has(all, "jetson-orin-nano: ")) << all.output;
  Result typo = run("topology presets tb5-rmda");
  EXPECT_EQ(typo.code, 2);
  EXPECT_TRUE(has(typo, "did you mean 'tb5-rdma'?")) << typo.output;
}

}  // namespace
