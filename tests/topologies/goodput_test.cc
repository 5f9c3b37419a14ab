// Link rate vs goodput: the framing arithmetic by hand, and what a topology's `rate:`, `goodput:`
// and `bandwidth:` keys mean once loaded.
#include "topologies/goodput.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "core/diag.h"
#include "topologies/topology.h"

namespace clustertwin::topo {
namespace {

// Payload per frame: MTU less IPv4 20, TCP 20 and timestamps 12 = MTU - 52. Wire bytes per frame:
// MTU + 38 on real Ethernet (14 header, 4 FCS, 8 preamble, 12 gap), MTU + 14 through tbf on a veth.
TEST(Goodput, EthernetAndTbfFramingAtMtu1500And9000) {
  EXPECT_DOUBLE_EQ(tcp_efficiency(1500, Framing::Ethernet), 1448.0 / 1538.0);  // 0.94148
  EXPECT_DOUBLE_EQ(tcp_efficiency(9000, Framing::Ethernet), 8948.0 / 9038.0);  // 0.99004
  EXPECT_DOUBLE_EQ(tcp_efficiency(1500, Framing::Tbf), 1448.0 / 1514.0);       // 0.95641
  EXPECT_DOUBLE_EQ(tcp_efficiency(9000, Framing::Tbf), 8948.0 / 9014.0);       // 0.99268
  EXPECT_DOUBLE_EQ(tcp_efficiency(1500, Framing::None), 1448.0 / 1500.0);
  EXPECT_DOUBLE_EQ(tcp_efficiency(0, Framing::Ethernet), 1448.0 / 1538.0);  // unstated MTU: 1500
  // 1 GbE at MTU 1500: the familiar 941.48 Mbit/s iperf3 ceiling; 990.04 with jumbo frames.
  EXPECT_NEAR(tcp_goodput(1e9, 1500, Framing::Ethernet), 941.482e6, 0.001e6);
  EXPECT_NEAR(tcp_goodput(1e9, 9000, Framing::Ethernet), 990.042e6, 0.001e6);
  // An emulated 50 Mbit/s tbf: 47.820 Mbit/s of payload.
  EXPECT_NEAR(tcp_goodput(50e6, 1500, Framing::Tbf), 47.8203e6, 0.0001e6);
  EXPECT_NEAR(tcp_goodput(50e6, 9000, Framing::Tbf), 49.6339e6, 0.0001e6);
  EXPECT_DOUBLE_EQ(wire_rate(tcp_goodput(50e6, 1500, Framing::Tbf), 1500, Framing::Tbf), 50e6);
  EXPECT_EQ(frame_overhead(Framing::Ethernet), 38);
  EXPECT_EQ(frame_overhead(Framing::Tbf), 14);
  EXPECT_EQ(frame_overhead(Framing::None), 0);
}

Topology pair(const std::string& link_keys) {
  return parse_topology(fmt::format(R"(name: pair
nodes:
  - {{name: a, device: mac-mini-m4}}
  - {{name: b, device: mac-mini-m4}}
links:
  - {{between: [a, b], type: {}}}
)", link_keys), "pair.yaml");
}

TEST(Goodput, RateIsAWireRateTheModelDerivesGoodputFrom) {
  Link l = pair("eth-1g, rate: 1Gbps").links[0];
  EXPECT_DOUBLE_EQ(l.type.rate, 1e9 / 8);
  EXPECT_DOUBLE_EQ(l.type.bandwidth, 1e9 / 8 * 1448 / 1538);  // 117.685 MB/s
  EXPECT_DOUBLE_EQ(l.back_bandwidth, 1e9 / 8 * 1448 / 1538);
  EXPECT_TRUE(l.type.goodput_derived);

  l = pair("eth-1g, rate: 50Mbps, framing: tbf").links[0];
  EXPECT_DOUBLE_EQ(l.type.bandwidth, 50e6 / 8 * 1448 / 1514);  // 5.9775 MB/s
  EXPECT_EQ(l.type.framing, Framing::Tbf);

  l = pair("eth-10g, rate: [10Gbps, 5Gbps], mtu: 9000").links[0];
  EXPECT_DOUBLE_EQ(l.type.bandwidth, 10e9 / 8 * 8948 / 9038);
  EXPECT_DOUBLE_EQ(l.back_bandwidth, 5e9 / 8 * 8948 / 9038);
  EXPECT_DOUBLE_EQ(l.back_rate, 5e9 / 8);
}

TEST(Goodput, GoodputAndBandwidthAreTakenAsWritten) {
  Link l = pair("eth-1g, goodput: 941Mbps").links[0];
  EXPECT_DOUBLE_EQ(l.type.bandwidth, 941e6 / 8);
  EXPECT_FALSE(l.type.goodput_derived);
  EXPECT_DOUBLE_EQ(pair("eth-1g, bandwidth: [900Mbps, 800Mbps]").links[0].back_bandwidth, 800e6 / 8);
  // Both given: the goodput is the model's, the rate is what the wire (and the emulation) runs at.
  l = pair("eth-1g, rate: 100Mbps, goodput: 90Mbps").links[0];
  EXPECT_DOUBLE_EQ(l.type.bandwidth, 90e6 / 8);
  EXPECT_DOUBLE_EQ(l.type.rate, 100e6 / 8);
}

TEST(Goodput, PresetsSayWhichFiguresAreRatesAndWhichGoodputs) {
  // eth-1g: iperf3's measured 940 Mbit/s is its goodput, 1 Gbit/s its line rate.
  const LinkType* e1 = find_link_type("eth-1g");
  ASSERT_TRUE(e1);
  EXPECT_DOUBLE_EQ(e1->bandwidth, 940e6 / 8);
  EXPECT_DOUBLE_EQ(e1->rate, 1e9 / 8);
  EXPECT_FALSE(e1->goodput_derived);
  // eth-10g has no measured figure: its goodput is derived from 10 Gbit/s at MTU 1500.
  const LinkType* e10 = find_link_type("eth-10g");
  ASSERT_TRUE(e10);
  EXPECT_TRUE(e10->goodput_derived);
  EXPECT_DOUBLE_EQ(e10->bandwidth, 10e9 / 8 * 1448 / 1538);  // 9.415 Gbit/s
  // Thunderbolt figures are measured goodputs; the 40 Gbit/s signalling rate does not bound TCP.
  EXPECT_FALSE(find_link_type("tb4")->goodput_derived);
  EXPECT_DOUBLE_EQ(find_link_type("tb4")->rate, 0);
  // Jumbo frames on a link whose goodput is derived re-derive it.
  EXPECT_DOUBLE_EQ(pair("eth-10g, mtu: 9000").links[0].type.bandwidth, 10e9 / 8 * 8948 / 9038);
  // A measured goodput stays as measured: the MTU it was measured at is the preset's.
  EXPECT_DOUBLE_EQ(pair("eth-1g, mtu: 9000").links[0].type.bandwidth, 940e6 / 8);
}

std::string error_of(const std::string& link_keys) {
  try {
    pair(link_keys);
  } catch (const core::InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Goodput, BadValuesNameFileLineAndColumn) {
  EXPECT_EQ(error_of("eth-1g, rate: fast"),
            "pair.yaml:6:43: error: expected rate to be a bandwidth with its unit, like 40Gbps or 2.5GB/s, got 'fast'\n"
            "    - {between: [a, b], type: eth-1g, rate: fast}\n"
            "                                            ^\n"
            "hint: write the number and its unit together; units are case-sensitive (Gbps = gigabits, GB/s = gigabytes)");
  EXPECT_EQ(error_of("eth-1g, rate: 1Gbps, framing: fddi"),
            "pair.yaml:6:59: error: unknown framing 'fddi'\n"
            "    - {between: [a, b], type: eth-1g, rate: 1Gbps, framing: fddi}\n"
            "                                                            ^\n"
            "hint: expected one of: 'ethernet', 'tbf', 'none'");
  EXPECT_EQ(error_of("eth-1g, goodput: 900Mbps, bandwidth: 900Mbps"),
            "pair.yaml:6:66: error: a link takes 'goodput' or 'bandwidth' (the same figure), not both\n"
            "    - {between: [a, b], type: eth-1g, goodput: 900Mbps, bandwidth: 900Mbps}\n"
            "                                                                   ^\n"
            "hint: keep 'goodput' (TCP payload rate); write a wire rate as 'rate'");
  EXPECT_EQ(error_of("eth-1g, rate: 0Gbps"),
            "pair.yaml:6:43: error: expected rate between 1Kbps and 1PB/s, got '0Gbps'\n"
            "    - {between: [a, b], type: eth-1g, rate: 0Gbps}\n"
            "                                            ^\n"
            "hint: a figure outside this range is a typo: check the exponent and the unit (Gbps = gigabits, GB/s = gigabytes)");
  EXPECT_EQ(error_of("tb4, framing: tbf"),
            "pair.yaml:6:43: error: 'framing' says what a wire rate counts, but this link has no 'rate'\n"
            "    - {between: [a, b], type: tb4, framing: tbf}\n"
            "                                            ^\n"
            "hint: add the wire rate (rate: 1Gbps), or delete 'framing'");
  EXPECT_EQ(error_of("eth-1g, mtu: 40"),
            "pair.yaml:6:42: error: expected mtu between 576 and 65536, got 40\n"
            "    - {between: [a, b], type: eth-1g, mtu: 40}\n"
            "                                           ^\n"
            "hint: use a value from 576 to 65536");
}

}  // namespace
}  // namespace clustertwin::topo
