#include "exec/probe.h"

#include <gtest/gtest.h>

#include <cmath>

#include "support.h"

namespace clustertwin::exec {
namespace {

const std::string kStar = CLUSTERTWIN_SOURCE_DIR "/topologies/examples/tb4-star-3minis.yaml";

std::vector<double> sizes() {
  std::vector<double> x;
  for (double b = 8; b <= 64.0 * 1048576; b *= 4) x.push_back(b);
  return x;
}

TEST(ProbeFit, RecoversTheLineItsPointsCameFrom) {
  // 25 us + bytes / 1.25 GB/s (10 Gb/s), exactly.
  std::vector<double> x = sizes(), t;
  for (double b : x) t.push_back(25e-6 + b / 1.25e9);
  LineFit f = fit_line(x, t);
  EXPECT_NEAR(f.fixed_s, 25e-6, 1e-12);
  EXPECT_NEAR(f.bytes_per_s, 1.25e9, 1.25e9 * 1e-9);
  EXPECT_LT(f.rms_relative, 1e-9);
  EXPECT_EQ(f.points, static_cast<int>(x.size()));
}

TEST(ProbeFit, NoiseOfTwoPercentStaysWithinAFewPercent) {
  // Every point off by +2 % or -2 % in turn: the residuals are that noise, the line stays close.
  std::vector<double> x = sizes(), t;
  for (size_t i = 0; i < x.size(); ++i) t.push_back((40e-6 + x[i] / 117e6) * (i % 2 ? 1.02 : 0.98));
  LineFit f = fit_line(x, t);
  EXPECT_NEAR(f.fixed_s, 40e-6, 0.05 * 40e-6);
  EXPECT_NEAR(f.bytes_per_s, 117e6, 0.05 * 117e6);
  EXPECT_NEAR(f.rms_relative, 0.02, 0.005);
  EXPECT_LT(f.max_relative, 0.05);  // the line leans a little toward the large points
}

TEST(ProbeFit, NeedsTwoSizesAndPositiveTimes) {
  EXPECT_THROW(fit_line({8}, {1e-5}), std::invalid_argument);
  EXPECT_THROW(fit_line({8, 8}, {1e-5, 2e-5}), std::invalid_argument);
  EXPECT_THROW(fit_line({8, 16}, {1e-5, 0}), std::invalid_argument);
  EXPECT_THROW(fit_line({8, 16}, {1e-5}), std::invalid_argument);
}

TEST(ProbeSpread, MinMedianMax) {
  Spread s = spread_of({3, 1, 10, 2});
  EXPECT_EQ(s.n, 4);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  EXPECT_DOUBLE_EQ(s.max, 10);
  EXPECT_DOUBLE_EQ(spread_of({4, 1, 7}).median, 4);
  EXPECT_EQ(spread_of({}).n, 0);
}

TEST(ProbePairs, StarHasTwoCablesAndOneForwardedPair) {
  const auto t = topo::load_topology(kStar);
  const auto pairs = probe_pairs(t);
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[0].kind, PairKind::Direct);
  EXPECT_EQ(t.nodes[pairs[0].a].name + "-" + t.nodes[pairs[0].b].name, "mini1-mini2");
  EXPECT_EQ(pairs[1].kind, PairKind::Direct);
  EXPECT_EQ(t.nodes[pairs[1].a].name + "-" + t.nodes[pairs[1].b].name, "mini1-mini3");
  EXPECT_EQ(pairs[2].kind, PairKind::Forwarded);
  EXPECT_EQ(t.nodes[pairs[2].forwarder].name, "mini1");
  EXPECT_EQ(pairs[2].route, (std::vector<int>{1, 0, 2}));
}

TEST(ProbePairs, LoopbackSwitchPairsEveryRank) {
  const auto t = topo::load_topology(CLUSTERTWIN_SOURCE_DIR "/topologies/examples/local-3.yaml");
  const auto pairs = probe_pairs(t);
  ASSERT_EQ(pairs.size(), 3u);
  for (const auto& p : pairs) EXPECT_EQ(p.kind, PairKind::Switched);
}

TEST(ProbePrograms, AreValidAndHaveTheOpsTheOptionsSay) {
  const auto t = topo::load_topology(kStar);
  ProbeOptions o = ProbeOptions::quick();
  const auto pair = probe_pairs(t)[2];
  core::Program p = pair_program(3, pair, o);
  EXPECT_NO_THROW(core::validate(p));
  // Rank a: per ping-pong 2 ops; per one-way stream n sends (or receives) + the ack; per
  // two-way stream n sends + n receives + 2 sync ops; untouched ranks: none.
  const int n = o.stream_messages, rounds = o.stream_rounds + 1;
  size_t pingpongs = 0;
  for (uint64_t size : o.sizes) pingpongs += size <= kSmall ? 4 + 4 * o.rounds : 1 + o.rounds;
  const size_t expected = pingpongs * 2 + 2 * rounds * (n + 1) + rounds * (2 * n + 2);
  EXPECT_EQ(p.ranks[pair.rank_a].ops.size(), expected);
  EXPECT_EQ(p.ranks[pair.rank_b].ops.size(), expected);
  EXPECT_TRUE(p.ranks[0].ops.empty());  // mini1 forwards; its rank is not in this pair
  core::Program d = device_program(t, o);
  EXPECT_NO_THROW(core::validate(d));
  // Per device and round one sgemm op and one memory op; a "turn" message between devices.
  EXPECT_EQ(d.ranks[0].ops.size(), 2u * (o.device_rounds + 1) + 1);  // + the turn sent to mini2
  EXPECT_EQ(d.ranks[1].ops.size(), 2u * (o.device_rounds + 1) + 2);  // + turns received and sent
  EXPECT_DOUBLE_EQ(d.ranks[0].ops[0].flops, 2.0 * o.gemm_n * o.gemm_n * o.gemm_n * o.gemm_count);
}

TEST(ProbeSizing, SlowLinksGetSmallerMessagesAndShorterStreams) {
  const ProbeOptions o = ProbeOptions::standard();  // 8 B .. 64 MiB by 4, 256 MiB streams of 8 messages
  // 12.5 MB/s (100 Mbit/s): 8 MiB takes 0.67 s, 32 MiB 2.7 s > 1 s: up to 8 MiB; streams of
  // 12.5 MB/s x 2 s = 25 MB, in 8 whole messages.
  std::vector<uint64_t> dropped;
  ProbeOptions s = sized_for(o, 12.5e6, &dropped);
  EXPECT_EQ(s.sizes.back(), 8ull << 20);
  EXPECT_EQ(dropped, (std::vector<uint64_t>{32ull << 20, 64ull << 20}));
  EXPECT_EQ(s.stream_bytes, 25000000ull / 8 * 8);
  // 1 GB/s: nothing dropped, streams capped at the option's 256 MiB.
  dropped.clear();
  s = sized_for(o, 1e9, &dropped);
  EXPECT_EQ(s.sizes, o.sizes);
  EXPECT_TRUE(dropped.empty());
  EXPECT_EQ(s.stream_bytes, 256ull << 20);
  // 100 KB/s: every size up to the 1 MiB scout kept (the last is 512 KiB: 8 x 4^8), 2 MiB (21 s)
  // not; streams of at least 1 MiB.
  s = sized_for(o, 1e5);
  EXPECT_EQ(s.sizes.back(), 512ull << 10);
  EXPECT_EQ(s.stream_bytes, 1ull << 20);
}

// Hand-made results on the tb4 star; every expected figure follows from them and tb4's preset
// overhead (45 us).
TEST(ProbeCalibration, SplitsFixedCostsAndFindsTheForwardersShare) {
  const auto t = topo::load_topology(kStar);
  const auto pairs = probe_pairs(t);
  ProbeResult r;
  auto result = [&](const ProbePair& p, double fixed, double ab, double ba) {
    PairResult x;
    x.pair = p;
    x.fixed_s = fixed;
    x.stream_ab = {ab, ab, ab, 1};
    x.stream_ba = {ba, ba, ba, 1};
    r.pairs.push_back(x);
  };
  result(pairs[0], 300e-6, 1.8e9, 1.7e9);  // mini1 <-> mini2
  result(pairs[1], 250e-6, 1.9e9, 1.9e9);  // mini1 <-> mini3
  result(pairs[2], 800e-6, 1.0e9, 1.1e9);  // mini2 <-> mini3 through mini1
  r.devices.push_back({1, 1, {1e12, 1e12, 1e12, 1}, {9e10, 9e10, 9e10, 1}});
  topo::Calibration c = to_calibration(t, r, {"2026-12-03T14:05:00Z", "test"});
  ASSERT_EQ(c.links.size(), 4u);
  EXPECT_EQ(c.links[0].from, "mini1");
  EXPECT_EQ(c.links[0].to, "mini2");
  EXPECT_DOUBLE_EQ(c.links[0].goodput, 1.8e9);
  EXPECT_DOUBLE_EQ(c.links[1].goodput, 1.7e9);  // mini2 -> mini1
  EXPECT_NEAR(*c.links[0].overhead, 45e-6, 1e-12);
  EXPECT_NEAR(*c.links[0].latency, 300e-6 - 2 * 45e-6, 1e-12);
  EXPECT_NEAR(*c.links[2].latency, 250e-6 - 2 * 45e-6, 1e-12);
  ASSERT_EQ(c.forwarders.size(), 1u);
  EXPECT_EQ(c.forwarders[0].node, "mini1");
  // 800 us - (210 us mini2 -> mini1 + 160 us mini1 -> mini3 + 2 x 45 us) = 340 us.
  EXPECT_NEAR(c.forwarders[0].latency, 340e-6, 1e-12);
  // 1.0 GB/s through it, below its hops' 1.7 GB/s: the forwarder limits.
  ASSERT_TRUE(c.forwarders[0].bandwidth);
  EXPECT_DOUBLE_EQ(*c.forwarders[0].bandwidth, 1.0e9);
  ASSERT_EQ(c.devices.size(), 1u);
  EXPECT_EQ(c.devices[0].node, "mini2");
  EXPECT_DOUBLE_EQ(*c.devices[0].flops, 1e12);
  // A slow hop one way (mini3 -> mini1 at 0.6 GB/s) slows the forwarded pair the same way: that
  // is the hop, not the forwarder, which then gets no bandwidth (a note says why).
  r.pairs[1].stream_ba = {0.6e9, 0.6e9, 0.6e9, 1};
  r.pairs[2].stream_ab = {1.65e9, 1.65e9, 1.65e9, 1};
  r.pairs[2].stream_ba = {0.6e9, 0.6e9, 0.6e9, 1};
  std::vector<std::string> notes;
  c = to_calibration(t, r, {"2026-12-03T14:05:00Z", "test"}, &notes);
  ASSERT_EQ(c.forwarders.size(), 1u);
  EXPECT_FALSE(c.forwarders[0].bandwidth);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("not a limit"), std::string::npos) << notes[0];
  // A fixed cost below the two overheads leaves the overhead at half of it and no latency.
  r.pairs.resize(1);
  r.pairs[0].fixed_s = 60e-6;
  c = to_calibration(t, r, {"2026-12-03T14:05:00Z", "test"});
  EXPECT_NEAR(*c.links[0].overhead, 30e-6, 1e-12);
  EXPECT_NEAR(*c.links[0].latency, 0, 1e-12);
}

// The whole probe on two local workers over loopback, with tiny sizes: every figure is there and
// positive, and the calibration it implies applies to the topology it ran on.
TEST(Probe, RunsOnLoopbackAndItsCalibrationApplies) {
  auto t = topo::parse_topology("name: two\nnodes:\n  - {name: a, device: this-machine, address: 127.0.0.1}\n"
                                "  - {name: b, device: this-machine, address: 127.0.0.1}\n"
                                "links:\n  - {between: [a, b], type: loopback}\n",
                                "two.yaml");
  ProbeOptions o;
  o.sizes = {8, 4096, 1 << 20};
  o.rounds = 2;
  o.stream_bytes = 4 << 20;
  o.stream_messages = 2;
  o.stream_rounds = 1;
  o.gemm_n = 128;
  o.gemm_count = 2;
  o.memory_bytes = 16 << 20;
  o.device_rounds = 1;
  std::vector<std::string> lines;
  ProbeResult r = run_probe(t, o, probe_runner(launch::Local{2, CLUSTERTWIN_TEST_WORKER}, RunSettings{}, t),
                            [&](const std::string& l) { lines.push_back(l); });
  ASSERT_EQ(r.pairs.size(), 1u);
  ASSERT_EQ(r.pairs[0].error, "");
  EXPECT_EQ(r.pairs[0].pair.kind, PairKind::Direct);
  EXPECT_GT(r.pairs[0].fixed_s, 0);
  EXPECT_GT(r.pairs[0].stream_ab.median, 0);
  EXPECT_GT(r.pairs[0].both_ba.median, 0);
  EXPECT_EQ(r.pairs[0].one_way[0].n, 8);  // 8 B: small, 4 x 2 timed rounds
  EXPECT_EQ(r.pairs[0].one_way[2].n, 2);  // 1 MiB: 2
  ASSERT_EQ(r.devices.size(), 2u);
  EXPECT_GT(r.devices[0].flops.median, 0);
  EXPECT_GT(r.devices[1].memory_bandwidth.median, 0);
  EXPECT_GE(lines.size(), 4u);
  topo::Calibration c = to_calibration(t, r, {utc_now(), "test"});
  EXPECT_EQ(c.links.size(), 2u);
  topo::Topology calibrated = t;
  topo::apply_calibration(calibrated, topo::parse_calibration(topo::calibration_yaml(c), "cal.yaml"));
  EXPECT_NEAR(calibrated.links[0].type.bandwidth, r.pairs[0].stream_ab.median, 1e-3 * r.pairs[0].stream_ab.median);
}

TEST(Probe, UtcNowIsIso8601) {
  const std::string now = utc_now();
  ASSERT_EQ(now.size(), 20u);
  EXPECT_EQ(now[4], '-');
  EXPECT_EQ(now[10], 'T');
  EXPECT_EQ(now[19], 'Z');
}

}  // namespace
}  // namespace clustertwin::exec
