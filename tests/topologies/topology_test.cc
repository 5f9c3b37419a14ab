#include "topologies/topology.h"

#include <gtest/gtest.h>

namespace clustertwin::topo {
namespace {

std::string error_of(const std::string& yaml) {
  try {
    parse_topology(yaml, "t.yaml");
  } catch (const core::InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Topology, TbStarExampleLoads) {
  Topology t = load_topology(CLUSTERTWIN_SOURCE_DIR "/topologies/examples/tb4-star-3minis.yaml");
  EXPECT_EQ(t.name, "tb4-star-3minis");
  ASSERT_EQ(t.compute_nodes().size(), 3u);
  EXPECT_EQ(t.nodes[0].address, "10.10.0.1");
  EXPECT_TRUE(t.nodes[0].forwards);
  EXPECT_FALSE(t.nodes[1].forwards);
  EXPECT_DOUBLE_EQ(t.nodes[0].device->peak_fp32, 4.6e12);
  EXPECT_DOUBLE_EQ(t.links[0].type.bandwidth, 16.4e9 / 8);
  EXPECT_EQ(t.control_network, "wifi-6");
}

TEST(Topology, LocalExampleLoads) {
  Topology t = load_topology(CLUSTERTWIN_SOURCE_DIR "/topologies/examples/local-3.yaml");
  EXPECT_EQ(t.compute_nodes().size(), 3u);
  EXPECT_TRUE(t.nodes[3].is_switch);
}

TEST(Topology, LinkOverridesApply) {
  Topology t = parse_topology(
      "name: t\nnodes:\n  - {name: a, device: mac-mini-m4, memory: 32GB}\n  - {name: b, device: mac-mini-m4}\n"
      "links:\n  - {between: [a, b], type: tb4, bandwidth: 20Gbps, latency: 0.1ms, duplex: half}\n",
      "t.yaml");
  EXPECT_DOUBLE_EQ(t.links[0].type.bandwidth, 2.5e9);
  EXPECT_DOUBLE_EQ(t.links[0].type.latency, 1e-4);
  EXPECT_FALSE(t.links[0].type.full_duplex);
  EXPECT_DOUBLE_EQ(t.nodes[0].device->memory, 32e9);
  EXPECT_DOUBLE_EQ(t.nodes[1].device->memory, 16e9);
}

TEST(Topology, UnknownKeyInNode) {
  EXPECT_EQ(error_of("name: t\nnodes:\n  - name: a\n    device: mac-mini-m4\n    adress: 10.0.0.1\n"),
            "t.yaml:5:5: error: unknown key 'adress' in a node\n"
            "      adress: 10.0.0.1\n"
            "      ^\n"
            "hint: did you mean 'address'?");
}

TEST(Topology, WrongBandwidthUnit) {
  std::string e = error_of("name: t\nnodes:\n  - {name: a, device: mac-mini-m4}\n  - {name: b, device: mac-mini-m4}\n"
                           "links:\n  - between: [a, b]\n    type: tb4\n    bandwidth: fast\n");
  EXPECT_EQ(e.substr(0, e.find('\n')),
            "t.yaml:8:16: error: expected bandwidth to be a bandwidth with its unit, like 40Gbps or 2.5GB/s, got 'fast'");
}

TEST(Topology, UnknownPresetSuggestsClosest) {
  std::string e = error_of("name: t\nnodes:\n  - {name: a, device: mac-mnii-m4}\n");
  EXPECT_NE(e.find("t.yaml:3:23: error: unknown device preset 'mac-mnii-m4'"), std::string::npos) << e;
  EXPECT_NE(e.find("hint: did you mean 'mac-mini-m4'?"), std::string::npos) << e;
}

TEST(Topology, LinkToUnknownNode) {
  std::string e = error_of("name: t\nnodes:\n  - {name: mini1, device: mac-mini-m4}\n  - {name: mini2, device: mac-mini-m4}\n"
                           "links:\n  - {between: [mini1, mini3], type: tb4}\n");
  EXPECT_NE(e.find("t.yaml:6:23: error: link end 'mini3' is not a node of this topology"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'mini1'?"), std::string::npos) << e;
}

TEST(Topology, DuplicateNode) {
  std::string e = error_of("name: t\nnodes:\n  - {name: a, device: mac-mini-m4}\n  - {name: a, device: mac-mini-m4}\n");
  EXPECT_NE(e.find("t.yaml:4:12: error: node 'a' is defined twice"), std::string::npos) << e;
}

TEST(Roofline, MaxOfComputeAndMemoryTime) {
  Device d = *find_device("mac-mini-m4");
  // 4.6 TFLOPS x 0.75 = 3.45 TFLOP/s; 120 GB/s x 0.85 = 102 GB/s.
  EXPECT_DOUBLE_EQ(roofline_seconds(d, 3.45e12, 1e9), 1.0);
  EXPECT_DOUBLE_EQ(roofline_seconds(d, 1e9, 204e9), 2.0);
}

TEST(Presets, EveryPresetNamesASource) {
  for (const auto& n : device_names()) EXPECT_FALSE(find_device(n)->source.empty()) << n;
  for (const auto& n : link_type_names()) EXPECT_FALSE(find_link_type(n)->source.empty()) << n;
}

}  // namespace
}  // namespace clustertwin::topo
