// Each likely-cause rule on a crafted residual pattern, with the evidence a person computes.
#include "reports/hints.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <unistd.h>

#include "support.h"
#include "temp_dir.h"

namespace clustertwin::reports {
namespace {

namespace fs = std::filesystem;
using testing::RunBuilder;

// Per step (1 s apart): every rank computes, then all-reduces each listed collective in turn.
struct Pattern {
  std::vector<double> compute;  // seconds per rank
  struct Coll {
    std::string label;
    double bytes;
    std::vector<double> seconds;  // per rank
  };
  std::vector<Coll> collectives;
};

class Hints : public test::TempDirTest {
 protected:

  std::string write(const std::string& name, const std::string& backend, const Pattern& p, const std::string& topo = {}) {
    const int world = static_cast<int>(p.compute.size());
    RunBuilder b(world, 2);
    for (int step = 0; step < 2; ++step)
      for (int r = 0; r < world; ++r) {
        double t = step * 10.0;
        b.compute(r, step, core::Phase::Backward, "bwd", t, t + p.compute[r]);
        t += p.compute[r];
        for (const auto& c : p.collectives) {
          b.collective(r, step, c.label, c.bytes, t, t + c.seconds[r]);
          t += c.seconds[r];
        }
      }
    return b.write(dir_ / name, backend, topo);
  }

  Comparison compare(const Pattern& predicted, const Pattern& measured, const std::string& topo = {}) {
    runs_ = {load_run(write("pred", "predicted", predicted, topo), "PREDICTED"),
             load_run(write("meas", "measured", measured, topo), "MEASURED")};
    return build_comparison(runs_);
  }

  std::vector<RunView> runs_;
};

std::string causes(const Comparison& c) {
  std::string out;
  for (const auto& h : c.hints) out += h.cause + " | " + h.evidence + "\n";
  return out;
}

TEST_F(Hints, NoneWhenTheRunsAgree) {
  Pattern p{{1.0, 1.0}, {{"grad.allreduce", 100e6, {0.2, 0.2}}}};
  auto c = compare(p, p);
  EXPECT_TRUE(c.hints.empty()) << causes(c);
  EXPECT_EQ(c.verdict, "The prediction is within 5 % of the measurement.");
}

TEST_F(Hints, ComputeOffEverywhereBlamesTheDeviceFigures) {
  // Compute 1.0 s predicted on both ranks, measured 1.30 and 1.32 s: errors (1 - 1.3) / 1.3 =
  // -23.1 % and (1 - 1.32) / 1.32 = -24.2 %; over both (2 - 2.62) / 2.62 = -23.7 %; 2 / 2.62 = 0.76.
  Pattern pred{{1.0, 1.0}, {{"grad.allreduce", 100e6, {0.2, 0.2}}}};
  Pattern meas{{1.3, 1.32}, {{"grad.allreduce", 100e6, {0.22, 0.2}}}};
  auto c = compare(pred, meas);
  ASSERT_EQ(c.hints.size(), 1u) << causes(c);
  EXPECT_EQ(c.hints[0].cause, "compute is off on every rank: the device figures");
  EXPECT_EQ(c.hints[0].evidence,
            "compute per step and rank: predicted 1.000 s, measured 1.310 s (-23.7 %); every rank between -24.2 % and -23.1 %");
  EXPECT_NE(c.hints[0].action.find("scaling them by 0.76 matches this run"), std::string::npos) << c.hints[0].action;
}

TEST_F(Hints, OneSlowRankIsAStraggler) {
  // Rank 3 computes 1.5 s where 1.0 s was predicted (-33.3 %); the others as predicted, and wait
  // for it in the all-reduce (which must not be blamed on the links).
  Pattern pred{{1.0, 1.0, 1.0, 1.0}, {{"grad.allreduce", 100e6, {0.2, 0.2, 0.2, 0.2}}}};
  Pattern meas{{1.0, 1.0, 1.0, 1.5}, {{"grad.allreduce", 100e6, {0.7, 0.7, 0.7, 0.2}}}};
  auto c = compare(pred, meas);
  ASSERT_EQ(c.hints.size(), 1u) << causes(c);
  EXPECT_EQ(c.hints[0].cause, "one rank is slow: rank 3");
  EXPECT_EQ(c.hints[0].evidence,
            "rank 3 compute per step: predicted 1.000 s, measured 1.500 s (-33.3 %); the other ranks' compute error is "
            "+0.0 % (median)");
  EXPECT_NE(c.hints[0].action.find("a Pi in the ring"), std::string::npos);
  EXPECT_NE(report_markdown(c).find("| 3 | - | 1.000 s | 1.500 s | -500.00 ms | -33.3 % |"), std::string::npos)
      << report_markdown(c);
}

TEST_F(Hints, StragglerIsNamedByNodeAndDevice) {
  Pattern pred{{1.0, 1.0, 1.0}, {}};
  Pattern meas{{1.0, 1.0, 2.0}, {}};
  auto c = compare(pred, meas, R"(name: mixed
nodes:
  - {name: mini1, device: mac-mini-m4, address: 10.0.0.1/24}
  - {name: mini2, device: mac-mini-m4, address: 10.0.0.2/24}
  - {name: pi1, device: raspberry-pi-5, address: 10.0.0.3/24}
  - {name: sw, kind: switch}
links:
  - {between: [mini1, sw], type: eth-1g}
  - {between: [mini2, sw], type: eth-1g}
  - {between: [pi1, sw], type: eth-1g}
)");
  ASSERT_EQ(c.hints.size(), 1u) << causes(c);
  EXPECT_EQ(c.hints[0].cause, "one rank is slow: rank 2 (node pi1, raspberry-pi-5)");
}

TEST_F(Hints, OneRouteOffBlamesItsLinks) {
  // Two pipeline pairs: rank 0 sends 1 MB to rank 1, rank 2 to rank 3. The 0 -> 1 send takes 200 ms
  // measured against 100 ms predicted (-50 %); the 2 -> 3 send is as predicted.
  auto write = [&](const std::string& name, const std::string& backend, double send01) {
    RunBuilder b(4, 2);
    for (int step = 0; step < 2; ++step) {
      double t = step * 10.0;
      b.compute(0, step, core::Phase::Forward, "fwd", t, t + 0.1).send(0, step, 1, step, 1e6, t + 0.1, t + 0.1 + send01);
      b.recv(1, step, 0, step, 1e6, t, t + 0.1 + send01).compute(1, step, core::Phase::Forward, "fwd", t + 0.1 + send01, t + 0.2 + send01);
      b.compute(2, step, core::Phase::Forward, "fwd", t, t + 0.1).send(2, step, 3, step, 1e6, t + 0.1, t + 0.2);
      b.recv(3, step, 2, step, 1e6, t, t + 0.2).compute(3, step, core::Phase::Forward, "fwd", t + 0.2, t + 0.3);
    }
    return b.write(dir_ / name, backend, R"(name: two-pairs
nodes:
  - {name: a, device: mac-mini-m4, address: 10.0.0.1}
  - {name: b, device: mac-mini-m4, address: 10.0.0.2}
  - {name: c, device: mac-mini-m4, address: 10.0.0.3}
  - {name: d, device: mac-mini-m4, address: 10.0.0.4}
links:
  - {between: [a, b], type: eth-1g}
  - {between: [c, d], type: eth-1g}
)");
  };
  runs_ = {load_run(write("pred", "predicted", 0.1), "PREDICTED"), load_run(write("meas", "measured", 0.2), "MEASURED")};
  auto c = build_comparison(runs_);
  ASSERT_EQ(c.hints.size(), 1u) << causes(c);
  EXPECT_EQ(c.hints[0].cause, "one route is off: rank 0 -> rank 1");
  EXPECT_EQ(c.hints[0].evidence,
            "rank 0 -> rank 1: communication per step predicted 100.00 ms, measured 200.00 ms (-50.0 %), over a - b "
            "(eth-1g); the other 1 route within 0.0 %");
  EXPECT_NE(c.hints[0].action.find("`clustertwin probe -t TOPO -o calibration.yaml`, then predict again with "
                                    "`clustertwin predict --calibration calibration.yaml`"),
            std::string::npos);
  EXPECT_EQ(c.hints[0].action.find("(or `probe`)"), std::string::npos);
  // A recv waiting for its sender with nothing else running is pipeline bubble: ranks 1 and 3
  // wait 100 ms for their sender's compute in both runs, ranks 0 and 2 never: (100 + 100) / 4 =
  // 50 ms. The rest of the recv is the transfer, exposed communication: the four ranks spend
  // 100 + 100 + 100 + 100 ms predicted, 200 + 200 + 100 + 100 ms measured: 100 vs 150 ms.
  std::string md = report_markdown(c);
  EXPECT_NE(md.find("| pipeline bubble | 50.00 ms | 50.00 ms | +0.0 us | +0.0 % |"), std::string::npos) << md;
  EXPECT_NE(md.find("| exposed communication | 100.00 ms | 150.00 ms | -50.00 ms | -33.3 % |"), std::string::npos) << md;
  // Per link: 1 MB per step a -> b.
  EXPECT_NE(md.find("| a - b (eth-1g) | 1.0 MB | 0 B |"), std::string::npos) << md;
}

TEST_F(Hints, RoutesOffTogetherPointAtTheLinkTheyShare) {
  // a, b, c on switch sw1; d on sw2; one uplink sw1 - sw2. Sends 0 -> 3 and 1 -> 3 cross the uplink
  // and d's cable; 2 -> 0 stays on sw1. Measured: 0 -> 3 200 ms (predicted 100 ms: -50 %),
  // 1 -> 3 160 ms (-37.5 %), 2 -> 0 as predicted. The links both off routes cross and the right
  // route does not: d - sw2 and sw1 - sw2.
  auto write = [&](const std::string& name, const std::string& backend, double s03, double s13) {
    RunBuilder b(4, 2);
    for (int step = 0; step < 2; ++step) {
      double t = step * 10.0;
      b.send(0, step, 3, 100 + step, 1e6, t, t + s03).recv(0, step, 2, 300 + step, 1e6, t + s03, t + s03 + 0.1);
      b.send(1, step, 3, 200 + step, 1e6, t, t + s13);
      b.send(2, step, 0, 300 + step, 1e6, t, t + 0.1);
      b.recv(3, step, 0, 100 + step, 1e6, t, t + s03).recv(3, step, 1, 200 + step, 1e6, t + s03, t + s03 + 0.01);
    }
    return b.write(dir_ / name, backend, R"(name: two-switches
nodes:
  - {name: a, device: mac-mini-m4, address: 10.0.0.1}
  - {name: b, device: mac-mini-m4, address: 10.0.0.2}
  - {name: c, device: mac-mini-m4, address: 10.0.0.3}
  - {name: d, device: mac-mini-m4, address: 10.0.0.4}
  - {name: sw1, kind: switch}
  - {name: sw2, kind: switch}
links:
  - {between: [a, sw1], type: eth-1g}
  - {between: [b, sw1], type: eth-1g}
  - {between: [c, sw1], type: eth-1g}
  - {between: [d, sw2], type: eth-1g}
  - {between: [sw1, sw2], type: eth-1g}
)");
  };
  runs_ = {load_run(write("pred", "predicted", 0.1, 0.1), "PREDICTED"),
           load_run(write("meas", "measured", 0.2, 0.16), "MEASURED")};
  auto c = build_comparison(runs_);
  ASSERT_EQ(c.hints.size(), 1u) << causes(c);
  EXPECT_EQ(c.hints[0].cause, "the routes over d - sw2 (eth-1g), sw1 - sw2 (eth-1g) are off: that link's figures");
  EXPECT_EQ(c.hints[0].evidence,
            "2 routes crossing it are off by -50.0 % to -37.5 % (predicted 200.00 ms, measured 360.00 ms per step); the "
            "1 route that does not cross it within 0.0 %");
}

TEST_F(Hints, SmallMessagesOffLargeRightIsPerMessageOverhead) {
  // 64 KiB all-reduce: 1 ms predicted, 2 ms measured (-50 %); 8 MiB: 100 vs 102 ms (-2.0 %);
  // 2 ranks x 2 steps = 4 of each; measured - predicted = 1 ms per small transfer.
  Pattern pred{{1.0, 1.0}, {{"small.allreduce", 65536, {0.001, 0.001}}, {"large.allreduce", 8 << 20, {0.1, 0.1}}}};
  Pattern meas{{1.0, 1.0}, {{"small.allreduce", 65536, {0.002, 0.002}}, {"large.allreduce", 8 << 20, {0.102, 0.102}}}};
  auto c = compare(pred, meas);
  ASSERT_EQ(c.hints.size(), 1u) << causes(c);
  EXPECT_EQ(c.hints[0].cause, "small messages are off, large ones right: the per-message overhead");
  EXPECT_EQ(c.hints[0].evidence,
            "4 transfers under 256 KiB: predicted 1.00 ms, measured 2.00 ms each on average (-50.0 %); 4 of 4 MiB or "
            "more: -2.0 %");
  EXPECT_NE(c.hints[0].action.find("measured minus predicted is 1.00 ms per small transfer"), std::string::npos);
}

TEST_F(Hints, WifiRatesMeanTheWrongInterface) {
  // 400 MB all-reduce over Thunderbolt 4: 0.4 s predicted (busbw 1.00 GB/s); measured 8 s
  // (50.0 MB/s), under the Wi-Fi 6 control network's 474 Mb/s (59 MB/s).
  Pattern pred{{1.0, 1.0}, {{"grad.allreduce", 400e6, {0.4, 0.4}}}};
  Pattern meas{{1.0, 1.0}, {{"grad.allreduce", 400e6, {8.0, 8.0}}}};
  auto c = compare(pred, meas, R"(name: two-minis
nodes:
  - {name: mini1, device: mac-mini-m4, address: 10.10.0.1/24}
  - {name: mini2, device: mac-mini-m4, address: 10.10.0.2/24}
links:
  - {between: [mini1, mini2], type: tb4}
control:
  type: wifi-6
)");
  ASSERT_EQ(c.hints.size(), 1u) << causes(c);
  EXPECT_EQ(c.hints[0].cause, "traffic on the Wi-Fi / control network: the wrong interface");
  EXPECT_NE(c.hints[0].evidence.find("grad.allreduce: bus bandwidth measured 50.0 MB/s, predicted 1.00 GB/s; the "
                                     "control network (wifi-6) carries 59."),
            std::string::npos)
      << c.hints[0].evidence;
}

TEST_F(Hints, WifiRoundTripsMeanTheWrongInterface) {
  // The runs agree, but the coordinator (mini1) measured an 8 ms ping-pong to mini3, one TB4 hop
  // away (2 x 210 us = 420 us), near Wi-Fi 6's 2 x 3.75 ms = 7.5 ms; mini2 answered in 0.5 ms.
  Pattern p{{1.0, 1.0, 1.0}, {{"grad.allreduce", 100e6, {0.2, 0.2, 0.2}}}};
  std::string topo = R"(name: star
nodes:
  - {name: mini1, device: mac-mini-m4, role: coordinator, address: 10.10.0.1/24, forwards: true}
  - {name: mini2, device: mac-mini-m4, address: 10.10.0.2/24}
  - {name: mini3, device: mac-mini-m4, address: 10.10.0.3/24}
links:
  - {between: [mini1, mini2], type: tb4}
  - {between: [mini1, mini3], type: tb4}
control:
  type: wifi-6
)";
  std::string pred = write("pred", "predicted", p, topo), meas = write("meas", "measured", p, topo);
  std::ofstream(fs::path(meas) / "clocks.json") << R"([{"rank": 0, "rtt_s": 2e-5}, {"rank": 1, "rtt_s": 5e-4},
    {"rank": 2, "rtt_s": 8e-3}])";
  runs_ = {load_run(pred, "PREDICTED"), load_run(meas, "MEASURED")};
  auto c = build_comparison(runs_);
  ASSERT_EQ(c.hints.size(), 1u) << causes(c);
  EXPECT_EQ(c.hints[0].cause, "traffic on the Wi-Fi / control network: the wrong interface");
  EXPECT_EQ(c.hints[0].evidence,
            "the coordinator's ping-pong round trip from node mini1: rank 2 (node mini3) 8.00 ms where the data route "
            "takes 420.0 us; the control network (wifi-6) takes 7.50 ms");
}

TEST_F(Hints, UnreadableTopologyIsANoteNotAFailure) {
  Pattern p{{1.0, 1.0}, {}};
  auto c = compare(p, p, "name: broken\nnodes: 3\n");
  std::string md = report_markdown(c);
  EXPECT_NE(md.find("- note (predicted): "), std::string::npos) << md;
  EXPECT_NE(md.find("topology.yaml was not used: "), std::string::npos) << md;
}

TEST_F(Hints, OrderedByTheTimeTheyExplain) {
  // Compute off on both ranks by 100 ms; small messages off by 1 ms each: compute first.
  Pattern pred{{1.0, 1.0}, {{"small.allreduce", 65536, {0.001, 0.001}}, {"large.allreduce", 8 << 20, {0.1, 0.1}}}};
  Pattern meas{{1.2, 1.2}, {{"small.allreduce", 65536, {0.002, 0.002}}, {"large.allreduce", 8 << 20, {0.1, 0.1}}}};
  auto c = compare(pred, meas);
  ASSERT_EQ(c.hints.size(), 2u) << causes(c);
  EXPECT_EQ(c.hints[0].cause, "compute is off on every rank: the device figures");
  EXPECT_EQ(c.hints[1].cause, "small messages are off, large ones right: the per-message overhead");
}

}  // namespace
}  // namespace clustertwin::reports
