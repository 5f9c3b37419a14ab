// `clustertwin calibration import-iperf3` as a user runs it, and `presets` saying which link figures
// are goodputs and which rates.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "run_cli.h"
#include "temp_dir.h"

namespace {

using clustertwin::cli_test::has;
using clustertwin::cli_test::Result;
using clustertwin::cli_test::run;
using clustertwin::cli_test::src;

std::string iperf3(const std::string& name) { return src("tests/topologies/fixtures/iperf3/" + name); }

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

const char* kLine = R"(name: line
nodes:
  - {name: mini1, device: mac-mini-m4, address: 127.0.0.1}
  - {name: mini2, device: mac-mini-m4, address: 127.0.0.1}
  - {name: mini3, device: mac-mini-m4}
links:
  - {between: [mini1, mini2], type: eth-1g}
  - {between: [mini2, mini3], type: eth-2.5g}
)";

class ImportIperf3 : public test::TempDirTest {};

TEST_F(ImportIperf3, MergesIntoAProbesOverlayThatTopologiesThenLoad) {
  write(out("line.yaml"), kLine);
  write(out("cal.yaml"), R"(calibration: 1
topology: line
measured: 2026-12-01T10:00:00Z
how: "clustertwin probe"
links:
  - {from: mini1, to: mini2, goodput: 100MB/s, latency: 80us}
)");
  Result r = run(fmt::format("calibration import-iperf3 -t {} mini1:mini2={} mini1:mini2={} --merge {} -o {}", out("line.yaml"),
                             iperf3("mini1-mini2.json"), iperf3("mini1-mini2-reverse.json"), out("cal.yaml"), out("cal.yaml")));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(has(r, "iperf3: mini1 -> mini2: 941 Mb/s (117.7 MB/s) of TCP goodput")) << r.output;
  EXPECT_TRUE(has(r, "wrote " + out("cal.yaml") + " (2 link directions, 1 new)")) << r.output;
  std::string cal = read(out("cal.yaml"));
  // 941362834.5 bit/s / 8 = 117.67 MB/s; the probe's latency stays, with where it came from.
  EXPECT_NE(cal.find("    goodput: 117.7MB/s\n    latency: 80us\n    measured: 2026-12-03T13:45:00Z\n"), std::string::npos) << cal;
  EXPECT_NE(cal.find("; latency: clustertwin probe (2026-12-01T10:00:00Z)"), std::string::npos) << cal;
  EXPECT_NE(cal.find("  - from: \"mini2\"\n    to: \"mini1\"\n    goodput: 116.9MB/s\n"), std::string::npos) << cal;
  // The overlay loads: a topology naming it shows mini1 -> mini2 at 117.7 MB/s (941.6 Mbit/s) and
  // back at 116.9 (935.2), where the eth-1g preset says 940 both ways.
  write(out("line-cal.yaml"), std::string(kLine) + "calibration: cal.yaml\n");
  Result shown = run(fmt::format("topology show {}", out("line-cal.yaml")));
  EXPECT_EQ(shown.code, 0) << shown.output;
  EXPECT_TRUE(has(shown, "942 Mb/s / 935 Mb/s")) << shown.output;
}

TEST_F(ImportIperf3, APairTheTopologyLacksIsAnInputError) {
  write(out("line.yaml"), kLine);
  const std::string arg = "mini1:mini3=" + iperf3("mini1-mini2.json");
  Result r = run(fmt::format("calibration import-iperf3 -t {} {}", out("line.yaml"), arg));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r, arg + ": error: topology 'line' has no link between 'mini1' and 'mini3'\nhint: the overlay "
                           "calibrates cables")) << r.output;
  r = run(fmt::format("calibration import-iperf3 -t {} mini1-mini2.json", out("line.yaml")));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r, "mini1-mini2.json: error: expected CLIENT:SERVER=FILE")) << r.output;
}

// Real iperf3 output over loopback, when iperf3 is installed (the unit tests use fixtures only).
TEST_F(ImportIperf3, RealIperf3OutputImports) {
  if (std::system("command -v iperf3 > /dev/null 2>&1") != 0) GTEST_SKIP() << "iperf3 is not installed";
  const int port = 20000 + ::getpid() % 20000;
  write(out("line.yaml"), kLine);
  // One test (-1), and gone after 30 s whatever happens.
  const std::string server = fmt::format("timeout 30 iperf3 -s -1 -B 127.0.0.1 -p {} > /dev/null 2>&1 &", port);
  ASSERT_EQ(std::system(server.c_str()), 0);
  const std::string client = fmt::format(
      // Until the server listens (iperf3 3.12 exits 0 with an "error" member when refused).
      "for i in $(seq 20); do iperf3 -c 127.0.0.1 -p {0} -t 1 -R --json > {1} && ! grep -q '\"error\"' {1} && exit 0; "
      "sleep 0.2; done; exit 1",
      port, out("r.json"));
  ASSERT_EQ(std::system(client.c_str()), 0) << read(out("r.json"));
  Result r = run(fmt::format("calibration import-iperf3 -t {} mini1:mini2={}", out("line.yaml"), out("r.json")));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(has(r, "iperf3: mini2 -> mini1: ")) << r.output;  // -R: the server sent
  EXPECT_TRUE(has(r, "  - from: \"mini2\"\n    to: \"mini1\"\n    goodput: ")) << r.output;
  EXPECT_TRUE(has(r, "how: \"goodput: iperf 3.")) << r.output;
}

TEST(PresetsCommand, SaysWhichLinkFiguresAreGoodputsAndWhichRates) {
  Result r = run("presets");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(has(r, "  eth-10g        goodput  9.41 Gb/s derived  rate    10 Gb/s")) << r.output;
  EXPECT_TRUE(has(r, "  eth-1g         goodput   940 Mb/s given    rate     1 Gb/s")) << r.output;
  EXPECT_TRUE(has(r, "  tb4            goodput  16.4 Gb/s given    rate          -")) << r.output;
  r = run("topology presets eth-10g");
  EXPECT_TRUE(has(r, "goodput            9.41 Gb/s of TCP payload (derived from the rate, mtu 1500, ethernet framing)"))
      << r.output;
}

}  // namespace
