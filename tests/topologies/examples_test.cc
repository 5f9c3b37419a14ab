// Every example topology loads, routes every pair of ranks, and passes `check`.
#include <filesystem>

#include <gtest/gtest.h>

#include "topologies/check.h"
#include "topologies/routing.h"
#include "topologies/topology.h"

namespace clustertwin::topo {
namespace {

std::vector<std::string> examples() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(CLUSTERTWIN_SOURCE_DIR "/topologies/examples"))
    if (e.path().extension() == ".yaml") out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

class Example : public testing::TestWithParam<std::string> {};

TEST_P(Example, LoadsRoutesAndPassesCheck) {
  Topology t = load_topology(std::string(CLUSTERTWIN_SOURCE_DIR "/topologies/examples/") + GetParam());
  Routes routes(t);
  for (int a : t.compute_nodes()) {
    for (int b : t.compute_nodes()) {
      if (a != b) {
        EXPECT_TRUE(routes.reachable(a, b)) << routes.why(a, b).diagnostic();
      }
    }
  }
  for (const auto& f : check(t))
    EXPECT_EQ(f.severity, Severity::Warning) << format_finding(t, f);
}

INSTANTIATE_TEST_SUITE_P(All, Example, testing::ValuesIn(examples()), [](const auto& info) {
  std::string name = info.param.substr(0, info.param.size() - 5);
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
});

TEST(Examples, TheGuidesAreAllThere) {
  auto all = examples();
  for (const char* want : {"tb4-star-3minis.yaml", "smolcluster-hybrid.yaml", "mesh-4-studios-rdma.yaml",
                           "mesh-4-studios-tb5-tcp.yaml", "two-minis-1gbe.yaml", "laptop-wifi-worker.yaml", "local-3.yaml"})
    EXPECT_NE(std::find(all.begin(), all.end(), want), all.end()) << want;
}

// Only the Wi-Fi example warns, and only about Wi-Fi.
TEST(Examples, LaptopOnWifiWarnsAboutWifiOnly) {
  Topology t = load_topology(CLUSTERTWIN_SOURCE_DIR "/topologies/examples/laptop-wifi-worker.yaml");
  auto findings = check(t);
  ASSERT_FALSE(findings.empty());
  for (const auto& f : findings) EXPECT_EQ(f.code, "T004") << format_finding(t, f);
}

TEST(Examples, RdmaMeshRoutesEveryPairOverItsOwnCable) {
  Topology t = load_topology(CLUSTERTWIN_SOURCE_DIR "/topologies/examples/mesh-4-studios-rdma.yaml");
  Routes routes(t);
  for (int a : t.compute_nodes())
    for (int b : t.compute_nodes()) {
      if (a == b) continue;
      const Route& r = routes.between(a, b);
      ASSERT_EQ(r.hops.size(), 1u);
      EXPECT_EQ(t.links[r.hops[0].link].type.transport, Transport::Rdma);
      EXPECT_DOUBLE_EQ(r.latency, 3e-6);
    }
  EXPECT_DOUBLE_EQ(t.nodes[0].device->memory, 512e9);
}

TEST(Examples, TcpMeshUsesThePerCableSubnets) {
  Topology t = load_topology(CLUSTERTWIN_SOURCE_DIR "/topologies/examples/mesh-4-studios-tb5-tcp.yaml");
  ASSERT_TRUE(t.ip_mode);
  Routes routes(t);
  const Route& r = routes.between(t.find("studio2"), t.find("studio4"));
  ASSERT_EQ(r.hops.size(), 1u);
  EXPECT_EQ(r.nodes, (std::vector<int>{t.find("studio2"), t.find("studio4")}));
  EXPECT_EQ(subnet_str(*t.links[r.hops[0].link].subnet(t)), "10.0.24.0/30");
}

}  // namespace
}  // namespace clustertwin::topo
