// `check`: one deliberately broken fixture per lint code, each detected; the examples stay clean
// (examples_test.cc); workload pairs narrow what must be reachable.
#include "topologies/check.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include <gtest/gtest.h>

namespace clustertwin::topo {
namespace {

const std::string kFixtures = CLUSTERTWIN_SOURCE_DIR "/tests/topologies/fixtures/";

std::string fixture_of(const LintCode& c) { return fmt::format("{}{}-{}.yaml", kFixtures, c.code, c.name); }

std::vector<std::string> codes(const std::vector<Finding>& findings) {
  std::vector<std::string> out;
  for (const auto& f : findings) out.push_back(f.code);
  return out;
}

class Fixture : public testing::TestWithParam<LintCode> {};

TEST_P(Fixture, IsDetected) {
  const LintCode& c = GetParam();
  ASSERT_TRUE(std::filesystem::exists(fixture_of(c))) << "every lint code has a fixture: " << fixture_of(c);
  Topology t = load_topology(fixture_of(c));
  auto findings = check(t);
  bool found = false;
  for (const auto& f : findings) {
    if (f.code != c.code) continue;
    found = true;
    EXPECT_EQ(f.name, c.name);
    EXPECT_EQ(f.severity, c.severity);
    EXPECT_GT(f.pos.line, 0) << format_finding(t, f);
    EXPECT_FALSE(f.hint.empty()) << format_finding(t, f);
  }
  EXPECT_TRUE(found) << c.code << " not reported; got: " << testing::PrintToString(codes(findings));
}

INSTANTIATE_TEST_SUITE_P(EveryCode, Fixture, testing::ValuesIn(lint_codes()),
                         [](const auto& info) { return std::string(info.param.code); });

Finding only(const std::vector<Finding>& findings, const std::string& code) {
  std::vector<Finding> of;
  for (const auto& f : findings)
    if (f.code == code) of.push_back(f);
  EXPECT_EQ(of.size(), 1u) << code;
  return of.empty() ? Finding{} : of.front();
}

TEST(Check, BridgeLoopNamesTheCycleAndPointsAtTheClosingCable) {
  Topology t = load_topology(kFixtures + "T001-tb-bridge-loop.yaml");
  Finding f = only(check(t), "T001");
  EXPECT_EQ(format_finding(t, f),
            kFixtures +
                "T001-tb-bridge-loop.yaml:9:5: error: [T001 tb-bridge-loop] Thunderbolt Bridge loop mini3 - mini1 - "
                "mini2 - mini3: the macOS bridge has no spanning tree, so broadcast frames circle forever (a broadcast "
                "storm pegs the CPUs and floods the network)\n"
                "    - {between: [mini2, mini3], type: tb4}\n"
                "      ^\n"
                "hint: remove one cable (a chain or a star on one bridge is fine), or take the Thunderbolt ports out of "
                "the bridge and give each cable its own subnet");
}

TEST(Check, TwoCablesBetweenOnePairAreNoLoop) {
  Topology t = parse_topology(
      "name: t\nnodes:\n  - {name: a, device: mac-mini-m4}\n  - {name: b, device: mac-mini-m4}\n"
      "links:\n  - {between: [a, b], type: tb4}\n  - {between: [a, b], type: tb4}\n",
      "t.yaml");
  EXPECT_TRUE(check(t).empty()) << format_finding(t, check(t).front());
}

TEST(Check, ASubnetPerCableIsNoBridgeLoop) {
  Topology t = load_topology(CLUSTERTWIN_SOURCE_DIR "/topologies/examples/mesh-4-studios-tb5-tcp.yaml");
  for (const auto& f : check(t)) EXPECT_NE(f.code, "T001") << format_finding(t, f);
}

TEST(Check, RdmaRingPassesWhenOnlyNeighboursTalk) {
  Topology t = load_topology(kFixtures + "T003-rdma-not-direct.yaml");
  CheckOptions ring;
  ring.talking = std::vector<std::pair<int, int>>{{0, 1}, {1, 2}, {2, 3}, {3, 0}};
  ring.collective = ring.talking;
  EXPECT_TRUE(check(t, ring).empty());
  CheckOptions across;
  across.talking = std::vector<std::pair<int, int>>{{0, 2}};
  Finding f = only(check(t, across), "T003");
  EXPECT_EQ(f.message,
            "'studio1' and 'studio3' (ranks 0 and 2) exchange data but have no RDMA cable of their own, and RDMA is "
            "never forwarded");
  EXPECT_EQ(f.hint,
            "add a cable studio1 - studio3 (JACCL needs a full mesh), or order the ranks so that only cabled "
            "neighbours talk (a ring): 'placement: auto' in the workload");
}

TEST(Check, WifiWarningOnlyForCollectivePairs) {
  Topology t = load_topology(kFixtures + "T004-wifi-collective.yaml");
  Finding f = only(check(t), "T004");
  EXPECT_EQ(f.severity, Severity::Warning);
  EXPECT_EQ(f.message,
            "ranks 0 ('mini1') and 2 ('macbook') (and 3 more rank pairs) run collectives over the Wi-Fi link mini1 - "
            "macbook (474 Mb/s half-duplex, 3.75 ms one way): every step of the collective waits on it");
  CheckOptions p2p;  // the MacBook only exchanges point-to-point messages: no collective crosses Wi-Fi
  p2p.talking = std::vector<std::pair<int, int>>{{0, 2}};
  p2p.collective = std::vector<std::pair<int, int>>{{0, 1}};
  EXPECT_TRUE(check(t, p2p).empty());
}

TEST(Check, WorkerOnControlNetworkSuggestsTheFabricAddress) {
  Topology t = load_topology(kFixtures + "T005-worker-on-control.yaml");
  Finding f = only(check(t), "T005");
  EXPECT_EQ(f.message,
            "worker 'mini2' listens on 192.168.1.12, an address on the control network 192.168.1.0/24: its training "
            "traffic would leave the fabric it is cabled to");
  EXPECT_EQ(f.hint, "make its fabric address the worker's: address: 10.10.0.2");
}

TEST(Check, DuplicateAddressNamesBothNodes) {
  Topology t = load_topology(kFixtures + "T006-duplicate-address.yaml");
  EXPECT_EQ(only(check(t), "T006").message, "address 10.10.0.2 is given to both 'mini2' and 'mini3'");
}

TEST(Check, LoopbackAddressesAreNoDuplicates) {
  Topology t = load_topology(CLUSTERTWIN_SOURCE_DIR "/topologies/examples/local-3.yaml");
  EXPECT_TRUE(check(t).empty());
}

TEST(Check, PiWithoutRouteGetsTheRouteToAdd) {
  Topology t = load_topology(kFixtures + "T007-missing-route.yaml");
  auto findings = check(t);
  Finding f = only(findings, "T007");
  // pi5 reaches mini1 at its Ethernet address, on the subnet they share; mini2 only through routes.
  EXPECT_EQ(f.message, "node 'pi5' cannot reach node 'mini2' (10.10.0.2): 'pi5' has no route to 10.10.0.0/24");
  EXPECT_EQ(f.hint,
            "add to 'pi5': routes: [{to: 10.10.0.0/24, via: 192.168.50.1}]; on Linux: sudo ip route add 10.10.0.0/24 "
            "via 192.168.50.1");
}

TEST(Check, PortsExceededNamesTheDevice) {
  Topology t = load_topology(kFixtures + "T008-ports-exceeded.yaml");
  Finding f = only(check(t), "T008");
  EXPECT_EQ(f.message,
            "'pi5' has 2 Ethernet links but a Raspberry Pi 5 (BCM2712, 4x Cortex-A76 at 2.4 GHz), CPU only has 1 "
            "Ethernet port");
  EXPECT_EQ(f.pos.line, 10);  // the second cable
}

TEST(Check, FullMeshBeyondThePortsOfAMini) {
  // Five base minis in a full mesh need 4 Thunderbolt ports each; an M4 mini has 3.
  std::string y = "name: mesh\nnodes:\n";
  for (int i = 0; i < 5; ++i) y += fmt::format("  - {{name: m{}, device: mac-mini-m4, address: 10.0.{}.1/32}}\n", i, i);
  y += "links:\n";
  for (int i = 0; i < 5; ++i)
    for (int j = i + 1; j < 5; ++j) y += fmt::format("  - {{between: [m{}, m{}], type: tb4}}\n", i, j);
  auto findings = check(parse_topology(y, "mesh.yaml"));
  int exceeded = 0;
  for (const auto& f : findings) exceeded += f.code == "T008";
  EXPECT_EQ(exceeded, 5);
}

TEST(Check, SubnetMismatchIsReportedOnTheLinkAndTheRoute) {
  Topology t = load_topology(kFixtures + "T009-subnet-mismatch.yaml");
  std::vector<std::string> messages;
  for (const auto& f : check(t)) {
    EXPECT_EQ(f.code, "T009") << format_finding(t, f);  // not T007: the subnet is what is missing
    messages.push_back(f.message);
  }
  EXPECT_EQ(messages, (std::vector<std::string>{
                          "'pi4' routes 10.10.0.0/24 via 192.168.51.2, which is on none of its subnets",
                          "link mini3 - pi4 joins different subnets: 'mini3' is 192.168.51.2/24, 'pi4' is "
                          "192.168.52.4/24, so no IP packet crosses it"}));
}

TEST(Check, ForwardingOffNamesTheMac) {
  Topology t = load_topology(kFixtures + "T010-forwarding-off.yaml");
  Finding f = only(check(t), "T010");
  EXPECT_EQ(f.message,
            "node 'mini2' cannot reach node 'pi5' (192.168.50.2): the route goes through 'mini1' (10.10.0.1), which "
            "does not forward");
  EXPECT_EQ(f.pos.line, 4);
}

// Even when no rank exchanges data with it, the coordinator connects to the node's worker.
TEST(Check, UncabledNodeIsUnreachableEvenWhenOnlyTheCoordinatorTalksToIt) {
  Topology t = load_topology(kFixtures + "T011-unreachable.yaml");
  EXPECT_EQ(only(check(t), "T011").message, "no link path connects node 'mini1' to node 'jetson'");
  CheckOptions minis_only;
  minis_only.talking = std::vector<std::pair<int, int>>{{0, 1}};
  EXPECT_EQ(only(check(t, minis_only), "T011").message,
            "no link path connects node 'mini1' to node 'jetson' (the coordinator's control connection: `run` drives "
            "every worker from 'mini1')");
}

// A Pi that talks only to its neighbour mini2, but has no route back to the coordinator mini1:
// `run` connects the coordinator to every worker, so that pair is checked too.
const char* kPiWithoutCoordinatorRoute = R"(name: pi-coordinator
nodes:
  - name: mini1
    device: mac-mini-m4
    role: ROLE
    address: 10.10.0.1/24
    routes: [{to: 192.168.51.0/24, via: 10.10.0.2}]
  - name: mini2
    device: mac-mini-m4
    forwards: true
    interfaces: [{name: bridge0, address: 10.10.0.2/24}, {name: en0, address: 192.168.51.1/24}]
  - {name: pi4, device: raspberry-pi-4, address: 192.168.51.4/24}
links:
  - {between: [mini1, mini2], type: tb4}
  - {between: [mini2, pi4], ports: [en0, eth0], type: eth-1g}
)";

std::vector<std::string> formatted_findings_with_role(const std::string& role) {
  std::string yaml = kPiWithoutCoordinatorRoute;
  yaml.replace(yaml.find("ROLE"), 4, role);
  Topology t = parse_topology(yaml, "t.yaml");
  CheckOptions o;
  o.talking = {{0, 1}, {1, 2}};  // mini1 - mini2 - pi4: the Pi never talks to mini1
  o.collective = o.talking;
  std::vector<std::string> out;
  for (const auto& f : check(t, o)) out.push_back(format_finding(t, f));
  return out;
}

TEST(Check, TheCoordinatorMustReachEveryWorkerAndBeReachedBack) {
  const std::string expected =
      "t.yaml:12:5: error: [T007 missing-route] node 'pi4' cannot reach node 'mini1' (10.10.0.1): 'pi4' has no route "
      "to 10.10.0.0/24 (the coordinator's control connection: `run` drives every worker from 'mini1')\n"
      "    - {name: pi4, device: raspberry-pi-4, address: 192.168.51.4/24}\n"
      "      ^\n"
      "hint: ";
  for (const char* role : {"coordinator", "worker"}) {  // without a coordinator role: rank 0's node
    auto found = formatted_findings_with_role(role);
    ASSERT_EQ(found.size(), 1u) << role;
    EXPECT_EQ(found[0].substr(0, expected.size()), expected) << role;
  }
}

TEST(Check, EveryCodeIsDocumented) {
  std::ifstream in(CLUSTERTWIN_SOURCE_DIR "/topologies/README.md");
  std::stringstream text;
  text << in.rdbuf();
  for (const auto& c : lint_codes())
    EXPECT_NE(text.str().find(fmt::format("`{}` {}", c.code, c.name)), std::string::npos) << c.code;
}

}  // namespace
}  // namespace clustertwin::topo
