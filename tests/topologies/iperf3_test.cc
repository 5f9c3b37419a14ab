// iperf3 --json import: fixtures in fixtures/iperf3/ follow iperf 3.12's client output (the version
// Debian 12 ships; generated on loopback, then edited by hand to a 1 GbE / 2.5 GbE cluster).
#include "topologies/iperf3.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/diag.h"

namespace clustertwin::topo {
namespace {

const std::string kDir = std::string(CLUSTERTWIN_SOURCE_DIR) + "/tests/topologies/fixtures/iperf3/";

Iperf3Source source(const std::string& client, const std::string& server, const std::string& file) {
  return parse_iperf3_arg(client + ":" + server + "=" + kDir + file);
}

// mini1 -eth-1g- mini2 -eth-2.5g- mini3; mini1 and mini3 are not cabled.
Topology line() {
  return parse_topology(R"(name: line
nodes:
  - {name: mini1, device: mac-mini-m4}
  - {name: mini2, device: mac-mini-m4}
  - {name: mini3, device: mac-mini-m4}
links:
  - {between: [mini1, mini2], type: eth-1g}
  - {between: [mini2, mini3], type: eth-2.5g}
)", "line.yaml");
}

std::string error_of(const std::string& client, const std::string& server, const std::string& file) {
  try {
    Calibration c;
    import_iperf3(c, line(), {load_iperf3(source(client, server, file))});
  } catch (const core::InputError& e) {
    std::string s = e.what();
    auto at = s.find(kDir);
    return at == std::string::npos ? s : s.replace(at, kDir.size(), "");
  }
  return "no error";
}

TEST(Iperf3, ForwardReverseBidirAndParallel) {
  Iperf3Result fwd = load_iperf3(source("mini1", "mini2", "mini1-mini2.json"));
  EXPECT_EQ(fwd.version, "iperf 3.12");
  EXPECT_EQ(fwd.measured, "2026-12-03T13:45:00Z");  // start.timestamp.timesecs 1796305500
  ASSERT_EQ(fwd.flows.size(), 1u);
  EXPECT_EQ(fwd.flows[0].from, "mini1");
  EXPECT_EQ(fwd.flows[0].to, "mini2");
  EXPECT_DOUBLE_EQ(fwd.flows[0].goodput, 941362834.5 / 8);  // end.sum_received.bits_per_second

  Iperf3Result rev = load_iperf3(source("mini1", "mini2", "mini1-mini2-reverse.json"));  // -R: the server sent
  ASSERT_EQ(rev.flows.size(), 1u);
  EXPECT_TRUE(rev.reverse);
  EXPECT_EQ(rev.flows[0].from, "mini2");
  EXPECT_EQ(rev.flows[0].to, "mini1");
  EXPECT_DOUBLE_EQ(rev.flows[0].goodput, 935214592.0 / 8);

  Iperf3Result bidir = load_iperf3(source("mini2", "mini3", "mini2-mini3-bidir.json"));
  EXPECT_TRUE(bidir.bidir);
  ASSERT_EQ(bidir.flows.size(), 2u);
  EXPECT_EQ(bidir.flows[0].from, "mini2");
  EXPECT_DOUBLE_EQ(bidir.flows[0].goodput, 2281701376.0 / 8);
  EXPECT_EQ(bidir.flows[1].from, "mini3");
  EXPECT_EQ(bidir.flows[1].json_path, "/end/sum_received_bidir_reverse");
  EXPECT_DOUBLE_EQ(bidir.flows[1].goodput, 2205704192.0 / 8);

  Iperf3Result p4 = load_iperf3(source("mini1", "mini2", "mini1-mini2-P4.json"));
  EXPECT_EQ(p4.streams, 4);
  EXPECT_DOUBLE_EQ(p4.flows[0].goodput, 943300096.0 / 8);  // the four streams' sum
}

TEST(Iperf3, ImportFillsOneEntryPerDirectionWithProvenance) {
  Calibration c;
  std::vector<Iperf3Result> rs;
  for (auto [cl, sv, f] : {std::tuple{"mini1", "mini2", "mini1-mini2.json"}, {"mini1", "mini2", "mini1-mini2-reverse.json"},
                           {"mini2", "mini3", "mini2-mini3-bidir.json"}, {"mini1", "mini2", "mini1-mini2-P4.json"}})
    rs.push_back(load_iperf3(source(cl, sv, f)));
  import_iperf3(c, line(), rs);
  ASSERT_EQ(c.links.size(), 4u);
  EXPECT_EQ(c.topology, "line");
  EXPECT_EQ(c.when.measured, "2026-12-03T13:48:00Z");  // the latest file
  // mini1 -> mini2 measured twice: the median of two is their mean.
  EXPECT_EQ(c.links[0].from, "mini1");
  EXPECT_DOUBLE_EQ(c.links[0].goodput, (941362834.5 + 943300096.0) / 2 / 8);
  EXPECT_FALSE(c.links[0].latency);
  EXPECT_EQ(c.links[0].when.measured, "2026-12-03T13:48:00Z");
  EXPECT_NE(c.links[0].when.how.find("iperf 3.12 -c mini2 -P 4 on mini1 --json"), std::string::npos) << c.links[0].when.how;
  EXPECT_EQ(c.links[0].spread, "iperf3 117.7..117.9 MB/s (2 files)");
  EXPECT_EQ(c.links[1].from, "mini2");
  EXPECT_EQ(c.links[1].to, "mini1");
  EXPECT_NE(c.links[1].when.how.find(" -R on mini1"), std::string::npos) << c.links[1].when.how;

  // Written and read back, then applied: the link's bandwidth a -> b is the goodput, its latency
  // stays the preset's (iperf3 measures no latency).
  Calibration back = parse_calibration(calibration_yaml(c), "cal.yaml");
  Topology t = line();
  apply_calibration(t, back);
  // The overlay writes 4 significant digits: 117.8 MB/s, within 0.05 %.
  EXPECT_NEAR(t.links[0].type.bandwidth, (941362834.5 + 943300096.0) / 16, 0.0005 * 117.8e6);
  EXPECT_NEAR(t.links[0].back_bandwidth, 935214592.0 / 8, 0.0005 * 116.9e6);
  EXPECT_DOUBLE_EQ(t.links[0].type.latency, find_link_type("eth-1g")->latency);
}

TEST(Iperf3, MergeKeepsAProbesLatencyAndSaysWhereEachFigureCameFrom) {
  Calibration c = parse_calibration(R"(calibration: 1
topology: line
measured: 2026-12-01T10:00:00Z
how: "clustertwin probe"
links:
  - {from: mini1, to: mini2, goodput: 100MB/s, latency: 80us, overhead: 20us}
  - {from: mini2, to: mini3, goodput: 250MB/s, latency: 90us}
)", "probe.yaml");
  import_iperf3(c, line(), {load_iperf3(source("mini1", "mini2", "mini1-mini2.json"))});
  ASSERT_EQ(c.links.size(), 2u);
  EXPECT_DOUBLE_EQ(c.links[0].goodput, 941362834.5 / 8);
  EXPECT_DOUBLE_EQ(*c.links[0].latency, 80e-6);
  EXPECT_DOUBLE_EQ(*c.links[0].overhead, 20e-6);
  EXPECT_EQ(c.links[0].when.measured, "2026-12-03T13:45:00Z");
  EXPECT_NE(c.links[0].when.how.find("; latency: clustertwin probe (2026-12-01T10:00:00Z)"), std::string::npos)
      << c.links[0].when.how;
  EXPECT_DOUBLE_EQ(c.links[1].goodput, 250e6);  // untouched
  EXPECT_EQ(c.when.measured, "2026-12-01T10:00:00Z");
}

TEST(Iperf3, ErrorsNameTheFileTheJsonPathAndAHint) {
  EXPECT_EQ(error_of("mini1", "mini2", "truncated.json"),
            "truncated.json:6:1: error: not JSON (syntax error while parsing object key - unexpected end of input; "
            "expected string literal)\n"
            "hint: iperf3 writes JSON only with --json (-J); its text report cannot be imported");
  EXPECT_EQ(error_of("mini1", "mini2", "no-sum-received.json"),
            "no-sum-received.json: error: at JSON path /end/sum_received: missing\n"
            "hint: import the client's output: iperf3 -c SERVER --json > FILE (TCP; -R, --bidir and -P are fine)");
  EXPECT_EQ(error_of("mini1", "mini2", "server-side.json"),
            "server-side.json: error: at JSON path /start: this is the server's output (start.accepted_connection, no "
            "start.connecting_to)\n"
            "hint: import the client's output (iperf3 -c SERVER --json): its end.sum_received is what the receiver counted");
  EXPECT_EQ(error_of("mini1", "mini2", "udp.json"),
            "udp.json: error: at JSON path /start/test_start/protocol: expected \"TCP\", got \"UDP\"\n"
            "hint: a UDP test measures at the rate you asked for (-b), not the goodput TCP reaches: run it without -u");
  EXPECT_EQ(error_of("mini1", "mini2", "refused.json"),
            "refused.json: error: at JSON path /error: iperf3 reported an error: unable to connect to server - server "
            "may have stopped running or use a different port, firewall issue, etc.: Connection refused\n"
            "hint: the test did not run: fix what iperf3 says (is `iperf3 -s` running on the server?) and run it again");
  std::string e = error_of("mini1", "mini3", "mini1-mini2.json");
  EXPECT_NE(e.find("mini1:mini3=mini1-mini2.json: error: topology 'line' has no link between 'mini1' and 'mini3'"),
            std::string::npos) << e;
  e = error_of("mini1", "mini4", "mini1-mini2.json");
  EXPECT_NE(e.find("error: 'mini4' is not a node of topology 'line'\nhint: did you mean 'mini1'?"), std::string::npos) << e;
  EXPECT_THROW(parse_iperf3_arg("mini1=a.json"), core::InputError);
  EXPECT_THROW(parse_iperf3_arg("mini1:mini1=a.json"), core::InputError);
}

}  // namespace
}  // namespace clustertwin::topo
