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

// `ranks: N` runs N ranks on a node (sharing its device): rank_nodes() repeats it, in file order.
TEST(Topology, RanksPerNode) {
  Topology t = parse_topology("name: t\nnodes:\n  - {name: a, device: mac-studio-m3-ultra, ranks: 2}\n"
                              "  - {name: sw, kind: switch}\n  - {name: b, device: mac-mini-m4}\n",
                              "t.yaml");
  EXPECT_EQ(t.compute_nodes(), (std::vector<int>{0, 2}));
  EXPECT_EQ(t.rank_nodes(), (std::vector<int>{0, 0, 2}));
  std::string e = error_of("name: t\nnodes:\n  - {name: a, device: mac-mini-m4}\n  - {name: sw, kind: switch, ranks: 2}\n");
  EXPECT_EQ(e.substr(0, e.find('\n')), "t.yaml:4:37: error: 'sw' runs no rank (a switch)");
  EXPECT_NE(e.find("hint: remove 'ranks'"), std::string::npos) << e;
  e = error_of("name: t\nnodes:\n  - {name: a, device: mac-mini-m4, ranks: 0}\n");
  EXPECT_NE(e.find("t.yaml:3:43: error: expected ranks between 1 and 256"), std::string::npos) << e;
}

// Item 4 of issue 17: values the loader used to accept, or name wrongly.
TEST(Topology, ZeroMemoryIsRefusedNotUnchecked) {
  EXPECT_EQ(error_of("name: t\nnodes:\n  - {name: a, device: mac-mini-m4, memory: 0GB}\n"),
            "t.yaml:3:44: error: expected memory between 1MB and 1000TB, got '0GB'\n"
            "    - {name: a, device: mac-mini-m4, memory: 0GB}\n"
            "                                             ^\n"
            "hint: a figure outside this range is a typo: check the exponent and the unit (Gbps = gigabits, GB/s = gigabytes)");
}

TEST(Topology, LinkFiguresOutsidePhysicalRangesAreRefusedWithTheRange) {
  const std::string head = "name: t\nnodes:\n  - {name: a, device: mac-mini-m4}\n  - {name: b, device: mac-mini-m4}\nlinks:\n";
  std::string e = error_of(head + "  - {between: [a, b], type: tb4, bandwidth: 1e-300Gbps}\n");
  EXPECT_EQ(e.substr(0, e.find('\n')), "t.yaml:6:45: error: expected bandwidth between 1Kbps and 1PB/s, got '1e-300Gbps'");
  e = error_of(head + "  - {between: [a, b], type: tb4, bandwidth: 1e308Gbps}\n");
  EXPECT_EQ(e.substr(0, e.find('\n')), "t.yaml:6:45: error: expected bandwidth between 1Kbps and 1PB/s, got '1e308Gbps'");
  e = error_of(head + "  - {between: [a, b], type: tb4, latency: 1e30s}\n");
  EXPECT_EQ(e.substr(0, e.find('\n')), "t.yaml:6:43: error: expected latency between 0s and 60min, got '1e30s'");
  e = error_of(head + "  - {between: [a, b], type: tb4, latency: [1us, 1e30s]}\n");
  EXPECT_EQ(e.substr(0, e.find('\n')), "t.yaml:6:49: error: expected latency between 0s and 60min, got '1e30s'");
  e = error_of("name: t\nnodes:\n  - {name: a, device: mac-mini-m4, peak_fp32: 1e-300TFLOPS}\n");
  EXPECT_EQ(e.substr(0, e.find('\n')), "t.yaml:3:47: error: expected peak_fp32 between 1MFLOPS and 1000PFLOPS, got '1e-300TFLOPS'");
}

TEST(Topology, NamesThatAreNotPrintableTextAreRefusedAtLoad) {
  std::string e = error_of("name: t\nnodes:\n  - {name: \"a\\u202eb\", device: mac-mini-m4}\n");
  EXPECT_EQ(e.substr(0, e.find('\n')), "t.yaml:3:12: error: this value holds a bidirectional-text control (U+202E)");
  e = error_of("name: t\nnodes:\n  - {name: a\xff, device: mac-mini-m4}\n");
  EXPECT_EQ(e.substr(0, e.find('\n')), "t.yaml:3:13: error: the file holds invalid UTF-8 (byte 0xff)");
  e = error_of("name: t\nnodes:\n  - {name: \"a\\0\", device: mac-mini-m4}\n");
  EXPECT_EQ(e.substr(0, e.find('\n')), "t.yaml:3:12: error: this value holds a control character (U+0000)");
}

TEST(Topology, ADuplicateKeyIsAnError) {
  std::string e = error_of("name: t\nnodes:\n  - {name: a, device: mac-mini-m4, device: mac-studio-m2-ultra}\n");
  EXPECT_EQ(e.substr(0, e.find('\n')), "t.yaml:3:36: error: duplicate key 'device': it is also at line 3");
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

namespace clustertwin::topo {
namespace {

const char* kTwo = "name: t\nnodes:\n  - {name: a, device: mac-mini-m4}\n  - {name: b, device: mac-mini-m4}\n";

TEST(Schema, InterfacesRoutesAndNetworks) {
  Topology t = parse_topology(R"(name: t
networks:
  - {name: fabric, subnet: 10.10.0.0/24}
nodes:
  - name: mac
    device: mac-mini-m4
    forwards: true
    address: 192.168.50.1
    interfaces:
      - {name: bridge0, address: 10.10.0.1, network: fabric, ports: [tb1, tb2]}
      - {name: en0, address: 192.168.50.1/24}
  - name: pi
    device: raspberry-pi-5
    address: 192.168.50.2/24
    routes:
      - {to: 10.10.0.0/24, via: 192.168.50.1}
      - {to: default, via: 192.168.50.1}
  - {name: laptop, role: control}
links:
  - {between: [mac, pi], ports: [en0, eth0], type: eth-1g, bandwidth: [940Mbps, 900Mbps], latency: [100us, 150us], mtu: 9000}
)", "t.yaml");
  EXPECT_TRUE(t.ip_mode);
  const Node& mac = t.nodes[0];
  EXPECT_EQ(mac.address, "192.168.50.1");  // `address` picks the interface the worker listens on
  ASSERT_EQ(mac.interfaces.size(), 2u);
  EXPECT_EQ(mac.interfaces[0].prefix, 24);  // from the network
  EXPECT_EQ(mac.interfaces[0].ports, (std::vector<std::string>{"tb1", "tb2"}));
  ASSERT_EQ(t.nodes[1].routes.size(), 2u);
  EXPECT_EQ(subnet_str(t.nodes[1].routes[1].to), "0.0.0.0/0");
  EXPECT_EQ(t.compute_nodes(), (std::vector<int>{0, 1}));  // the control laptop runs no rank
  EXPECT_FALSE(t.nodes[2].device);
  const Link& l = t.links[0];
  EXPECT_EQ(l.iface_a, 1);  // named by port
  EXPECT_EQ(l.iface_b, 0);
  EXPECT_DOUBLE_EQ(l.bandwidth(true), 940e6 / 8);
  EXPECT_DOUBLE_EQ(l.bandwidth(false), 900e6 / 8);
  EXPECT_DOUBLE_EQ(l.latency(false), 150e-6);
  EXPECT_EQ(l.type.mtu, 9000);
  EXPECT_EQ(subnet_str(*l.subnet(t)), "192.168.50.0/24");
}

TEST(Schema, BareAddressesKeepShortestPathRouting) {
  Topology t = load_topology(CLUSTERTWIN_SOURCE_DIR "/topologies/examples/local-3.yaml");
  EXPECT_FALSE(t.ip_mode);
  EXPECT_EQ(t.nodes[0].address, "127.0.0.1");
}

TEST(Schema, NodeOverridesPortsPowerAndDtypePeaks) {
  Topology t = parse_topology(
      "name: t\nnodes:\n  - {name: pi, device: raspberry-pi-5, ports: {ethernet: 2}, power: 15W, peak_bf16: 1TFLOPS, "
      "price: $95}\n",
      "t.yaml");
  const Device& d = *t.nodes[0].device;
  EXPECT_DOUBLE_EQ(d.price, 95);
  EXPECT_DOUBLE_EQ(find_device("raspberry-pi-5")->price, 80);
  EXPECT_EQ(d.ports.ethernet, 2);
  EXPECT_EQ(d.ports.wifi, 1);  // the preset's other counts stay
  EXPECT_DOUBLE_EQ(d.power, 15);
  EXPECT_DOUBLE_EQ(d.peak(core::DType::BF16), 1e12);
  EXPECT_DOUBLE_EQ(d.peak(core::DType::F16), 307.2e9);
  EXPECT_DOUBLE_EQ(d.peak(core::DType::I8), 307.2e9);  // int8 defaults to fp16
}

TEST(Schema, AddressWithoutSubnetAmongSubnetsIsAnError) {
  EXPECT_EQ(error_of("name: t\nnodes:\n  - {name: a, device: mac-mini-m4, address: 10.0.0.1/24}\n"
                     "  - {name: b, device: mac-mini-m4, address: 10.0.0.2}\n"),
            "t.yaml:4:45: error: address '10.0.0.2' of node 'b' has no subnet, but other addresses in this file state theirs\n"
            "    - {name: b, device: mac-mini-m4, address: 10.0.0.2}\n"
            "                                              ^\n"
            "hint: write it with its prefix, like 10.0.0.2/24, or declare its subnet under 'networks'");
}

TEST(Schema, ErrorsInTheNewKeysArePositioned) {
  struct Case {
    std::string yaml, first_line;
  };
  std::vector<Case> cases = {
      {"name: t\nnodes:\n  - {name: a, device: mac-mini-m4, interfaces: [{address: 10.0.0.1, network: fabirc}]}\n",
       "t.yaml:3:78: error: unknown network 'fabirc'"},
      {"name: t\nnetworks: [{name: fabric, subnet: 10.0.0.0/24}]\nnodes:\n"
       "  - {name: a, device: mac-mini-m4, interfaces: [{address: 10.0.1.1, network: fabric}]}\n",
       "t.yaml:4:59: error: address '10.0.1.1' is not in network 'fabric' (10.0.0.0/24)"},
      {"name: t\nnodes:\n  - {name: a, device: mac-mini-m4, routes: [{to: 10.0.0.0/24, via: gateway}]}\n",
       "t.yaml:3:68: error: expected 'via' to be the gateway's IPv4 address, got 'gateway'"},
      {"name: t\nnodes:\n  - {name: a, device: mac-mini-m4, routes: [{to: 10.0.0.0, via: 10.0.0.1}]}\n",
       "t.yaml:3:50: error: expected 'to' to be a subnet like 10.10.0.0/24, got '10.0.0.0'"},
      {"name: t\nnodes:\n  - {name: a, device: mac-mini-m4, address: 10.0.0.1/40}\n",
       "t.yaml:3:45: error: expected an IPv4 address with its prefix, like 10.10.0.1/24, got '10.0.0.1/40'"},
      {"name: t\nnodes:\n  - {name: a, device: mac-mini-m4, power: 40}\n",
       "t.yaml:3:43: error: expected power to be a power with its unit, like 42W, got '40'"},
      {"name: t\nnodes:\n  - {name: a, device: mac-mini-m4, price: 599}\n",
       "t.yaml:3:43: error: expected price to be US dollars, like $599, got '599'"},
      {"name: t\nnodes:\n  - {name: a, device: mac-mini-m4, ports: {thunderbolts: 4}}\n",
       "t.yaml:3:44: error: unknown key 'thunderbolts' in 'ports'"},
      {"name: t\nnodes:\n  - {name: a, device: mac-mini-m4, role: server}\n",
       "t.yaml:3:42: error: unknown role 'server'"},
      {std::string(kTwo) + "links:\n  - {between: [a, b], type: tb4, bandwidth: [1Gbps]}\n",
       "t.yaml:6:45: error: expected bandwidth to be one value or two, [a -> b, b -> a] in 'between' order"},
      {std::string(kTwo) + "links:\n  - {between: [a, b], type: tb4, latency: -5us}\n",
       "t.yaml:6:43: error: expected latency to be a time with its unit, like 5us, 0.4ms or 2s, got '-5us'"},
      {std::string(kTwo) + "links:\n  - {between: [a, b], type: tb4, ports: [tb1]}\n",
       "t.yaml:6:41: error: expected 'ports' to name the port at each end, in 'between' order"},
      {std::string(kTwo) + "links:\n  - {between: [a, b], type: tb5-rmda}\n", "t.yaml:6:29: error: unknown link type 'tb5-rmda'"},
      {"name: t\nnodes:\n  - {name: a, device: mac-mini-m4, address: 10.0.0.1/24, interfaces: [{address: 10.0.0.2/24}]}\n",
       "t.yaml:3:45: error: address '10.0.0.1' of node 'a' is not one of its interfaces"},
  };
  for (const auto& c : cases) {
    std::string e = error_of(c.yaml);
    EXPECT_EQ(e.substr(0, e.find('\n')), c.first_line) << c.yaml;
  }
  EXPECT_NE(error_of(std::string(kTwo) + "links:\n  - {between: [a, b], type: tb5-rmda}\n").find("did you mean 'tb5-rdma'?"),
            std::string::npos);
}

TEST(Presets, EveryFigureNamesItsSource) {
  for (const auto& n : device_names()) {
    const Device& d = *find_device(n);
    for (const char* key : {"peak_fp32", "peak_fp16", "compute_efficiency", "memory_bandwidth", "memory_efficiency", "memory"})
      EXPECT_FALSE(d.notes.count(key) == 0 || d.notes.at(key).empty()) << n << " " << key;
    if (d.power > 0) {
      EXPECT_FALSE(d.notes.at("power").empty()) << n;
    }
    if (d.price > 0) {
      EXPECT_FALSE(d.notes.at("price").empty()) << n;
    }
    if (d.ports.known) {
      EXPECT_FALSE(d.notes.at("ports").empty()) << n;
    }
  }
  for (const auto& n : link_type_names()) {
    const LinkType& l = *find_link_type(n);
    // A goodput as given, or the wire rate it is derived from.
    for (const char* key : {l.goodput_derived ? "rate" : "goodput", "latency", "duplex"})
      EXPECT_FALSE(l.notes.count(key) == 0 || l.notes.at(key).empty()) << n << " " << key;
    if (l.overhead > 0) {
      EXPECT_FALSE(l.notes.at("overhead").empty()) << n;
    }
  }
}

TEST(Presets, TheIssuesDevicesAndLinksAreAllThere) {
  for (const char* d : {"mac-mini-m2", "mac-mini-m2-pro", "mac-mini-m4", "mac-mini-m4-pro", "mac-studio-m2-ultra",
                        "mac-studio-m3-ultra", "mac-studio-m4-max", "macbook-pro-m3-max", "macbook-pro-m4-max",
                        "ipad-pro-m4", "raspberry-pi-4", "raspberry-pi-5", "jetson-orin-nano", "this-machine"})
    EXPECT_NE(find_device(d), nullptr) << d;
  for (const char* l : {"tb4", "tb5", "tb5-rdma", "eth-1g", "eth-2.5g", "eth-10g", "wifi-6", "loopback"})
    EXPECT_NE(find_link_type(l), nullptr) << l;
}

TEST(Presets, TransportsAndOverheads) {
  EXPECT_EQ(find_link_type("tb5-rdma")->transport, Transport::Rdma);
  EXPECT_EQ(find_link_type("tb4")->transport, Transport::Tcp);
  EXPECT_LT(find_link_type("tb5-rdma")->overhead * 10, find_link_type("tb5")->overhead);  // RDMA skips the TCP stack
  // A small TCP exchange over Thunderbolt: two endpoint overheads and the latency, about 300 us.
  EXPECT_NEAR(2 * find_link_type("tb4")->overhead + find_link_type("tb4")->latency, 300e-6, 1e-9);
  // RDMA 64 B ib_send_lat, 4.15 us.
  EXPECT_NEAR(2 * find_link_type("tb5-rdma")->overhead + find_link_type("tb5-rdma")->latency, 4.2e-6, 1e-9);
  EXPECT_EQ(find_device("mac-studio-m3-ultra")->ports.rdma, 5);
  EXPECT_EQ(find_device("mac-mini-m4")->thunderbolt, 4);
  // The calibrated figures stay as measured.
  EXPECT_DOUBLE_EQ(find_link_type("loopback")->bandwidth, 6.9e9 / 8);
  EXPECT_DOUBLE_EQ(find_device("this-machine")->peak_fp32, 100e9);
}

TEST(Forwarding, DerivedFromLinksSkippingRdmaAndFreeOnSwitches) {
  Topology t = parse_topology(R"(name: t
nodes:
  - {name: mac, device: mac-studio-m3-ultra, forwards: true}
  - {name: pi, device: raspberry-pi-5}
  - {name: studio, device: mac-studio-m3-ultra}
  - {name: sw, kind: switch}
  - {name: c, device: mac-mini-m4}
links:
  - {between: [mac, pi], type: eth-1g}
  - {between: [mac, studio], type: tb5-rdma}
  - {between: [mac, sw], type: eth-10g}
  - {between: [c, sw], type: eth-10g}
)", "t.yaml");
  Forwarding f = t.forwarding_of(0);
  EXPECT_DOUBLE_EQ(f.bandwidth, 940e6 / 8);  // the slowest forwardable link type
  EXPECT_DOUBLE_EQ(f.latency, 100e-6);
  Forwarding s = t.forwarding_of(3);
  EXPECT_DOUBLE_EQ(s.bandwidth, 10e9 / 8 * 1448 / 1538);  // line rate: eth-10g's goodput, derived from 10 Gbit/s
  EXPECT_DOUBLE_EQ(s.latency, 0);
}

}  // namespace
}  // namespace clustertwin::topo
