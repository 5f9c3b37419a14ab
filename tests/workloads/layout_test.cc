// Rank placement, stage splits, pipeline schedules and their bubble fractions.
#include "workloads/layout.h"

#include <gtest/gtest.h>

#include <numeric>

#include "support.h"
#include "workloads/stage_split.h"

namespace clustertwin::work {
namespace {

TEST(Split, EvenGivesTheRemainderToTheFirstStages) {
  Workload w = support::parse("name: p\nmodel: llama-3.2-1b\ntask: train\nbatch: {micro_batch: 1, seq_len: 64}\n"
                              "parallel: {strategy: pipeline, pp: 3}\n");
  Layout l = layout_for(w, support::cluster(3));
  EXPECT_EQ(l.layers, (std::vector<int64_t>{6, 5, 5}));
}

// Llama-3.2-1B by hand: a layer's forward is 2 x 60,817,408 matmul weights + 2·seq·q_dim FLOPs per
// token, the LM head's 2 x 2048 x 128,256 = 525,336,576; backward is twice each (checkpointing:
// three times each), so the ratio holds for the whole step. All compute-bound on the test device
// (1 TFLOP/s, 100 GB/s).
TEST(Split, SpeedBalancesTheHeadOnTheLastStage) {
  // seq 2048: a layer 121,634,816 + 8,388,608 = 130,023,424 per token; the head is 4.04 layers. Four
  // equal stages: the last takes 1 layer + head = 5.04, the others 5 each (max 5.04; [4,4,4,4]
  // gives 8.04 and [6,5,4,1] 6).
  Workload w = support::parse("name: p\nmodel: llama-3.2-1b\ntask: train\nbatch: {micro_batch: 1, seq_len: 2048}\n"
                              "parallel: {strategy: pipeline, split: speed}\n");
  EXPECT_EQ(layout_for(w, support::cluster(4)).layers, (std::vector<int64_t>{5, 5, 5, 1}));
}

TEST(Split, SpeedBalancesADecodeStepInInference) {
  // decode is memory-bound: a layer reads 60,821,504 fp32 weights (243 MB), the head 128,256 x 2048
  // (1.05 GB, 4.3 layers); the cache of a 64-token prompt is small: 5 5 5 and 1 + head.
  Workload w = support::parse("name: p\nmodel: llama-3.2-1b\ntask: infer\nbatch: {size: 1, prompt: 64, generate: 8}\n"
                              "parallel: {strategy: pipeline, split: speed}\n");
  EXPECT_EQ(layout_for(w, support::cluster(4)).layers, (std::vector<int64_t>{5, 5, 5, 1}));
}

TEST(Split, SpeedFollowsDeviceSpeedAndTheHead) {
  // seq 64: a layer 121,634,816 + 262,144 = 121,896,960 per token, the head 4.31 layers. A Mac twice
  // as fast as two Pis: costs n0/2, n1, n2 + 4.31; the last stage's least is 1 + 4.31 = 5.31, so
  // n1 <= 5 and n0 <= 10: [10, 5, 1].
  Workload w = support::parse("name: p\nmodel: llama-3.2-1b\ntask: train\nbatch: {micro_batch: 1, seq_len: 64}\n"
                              "parallel: {strategy: pipeline, split: speed}\n");
  Cluster c = support::cluster(3);
  c.ranks[0].device.peak_fp32 = 2e12;
  Layout l = layout_for(w, c);
  EXPECT_EQ(l.layers, (std::vector<int64_t>{10, 5, 1}));
  EXPECT_EQ(std::accumulate(l.layers.begin(), l.layers.end(), int64_t{0}), 16);
}

TEST(Split, BalancedSplitMinimisesTheLargestChunk) {
  auto per_layer = [](int, int64_t n) { return static_cast<double>(n); };
  EXPECT_EQ(balanced_split(10, 3, per_layer), (std::vector<int64_t>{3, 3, 4}));  // ties: later chunks take more
  EXPECT_EQ(balanced_split(4, 4, per_layer), (std::vector<int64_t>{1, 1, 1, 1}));  // at least one each
  auto heavy_first = [](int v, int64_t n) { return static_cast<double>(n) + (v == 0 ? 5.0 : 0.0); };
  EXPECT_EQ(balanced_split(13, 3, heavy_first), (std::vector<int64_t>{1, 6, 6}));  // 6, 6, 6
}

TEST(Split, MemoryBalancesModelStatesOnEachDevice) {
  // fp32 AdamW: 4 + 4 + 8 = 16 bytes per parameter. A layer (60,821,504) is 0.973 GB, the
  // embedding on the first stage and the tied head's copy (+ final norm) on the last 4.20 GB each;
  // activations at seq 64 add ~10 MB a layer. 24 GB and 8 GB: [14, 2] fills 74 % and 77 %
  // ([15, 1]: 78 % and 65 %; [13, 3]: 70 % and 89 %).
  Workload w = support::parse("name: p\nmodel: llama-3.2-1b\ntask: train\nbatch: {micro_batch: 1, seq_len: 64}\n"
                              "parallel: {strategy: pipeline, split: memory}\n");
  Cluster c = support::cluster(2);
  c.ranks[0].capacity = 24e9;
  c.ranks[1].capacity = 8e9;
  EXPECT_EQ(layout_for(w, c).layers, (std::vector<int64_t>{14, 2}));
}

TEST(Schedule, OneFOneBWarmsUpThenAlternates) {
  auto s = schedule(Schedule::OneFOneB, 4, 1, 6, 1);  // stage 1 of 4: 2 warm-up forwards
  std::string order;
  for (const auto& p : s) order += (p.forward ? "F" : "B") + std::to_string(p.micro_batch) + " ";
  EXPECT_EQ(order, "F0 F1 F2 B0 F3 B1 F4 B2 F5 B3 B4 B5 ");
  auto g = schedule(Schedule::GPipe, 4, 1, 3, 1);
  order.clear();
  for (const auto& p : g) order += (p.forward ? "F" : "B") + std::to_string(p.micro_batch) + " ";
  EXPECT_EQ(order, "F0 F1 F2 B0 B1 B2 ");
}

TEST(Schedule, InterleavedVisitsEveryChunkOfEveryMicroBatch) {
  auto s = schedule(Schedule::Interleaved, 2, 0, 4, 2);
  ASSERT_EQ(s.size(), 2u * 4 * 2);
  std::map<std::pair<int, int>, int> seen;
  for (const auto& p : s) seen[{p.micro_batch, p.chunk}] += p.forward ? 1 : 10;
  EXPECT_EQ(seen.size(), 8u);
  for (const auto& [k, v] : seen) EXPECT_EQ(v, 11);
}

TEST(Schedule, BubbleFractions) {
  EXPECT_DOUBLE_EQ(bubble_fraction(Schedule::GPipe, 4, 8, 1), 3.0 / 11);
  EXPECT_DOUBLE_EQ(bubble_fraction(Schedule::OneFOneB, 4, 8, 1), 3.0 / 11);
  EXPECT_DOUBLE_EQ(bubble_fraction(Schedule::Interleaved, 4, 8, 2), 3.0 / 19);
}

TEST(Placement, TensorGroupsSitOnTheFastestLinks) {
  // Four Macs: 0-2 and 1-3 joined by Thunderbolt 5 (80 Gb/s), all four on 1 GbE: the TP pairs
  // must be {0, 2} and {1, 3}, not the file order {0, 1}, {2, 3}.
  Cluster c = support::cluster(4);
  for (int r = 0; r < 4; ++r) c.switch_bandwidth[r] = 0.125e9;
  c.links[0] = {{2, 10e9}};
  c.links[2] = {{0, 10e9}};
  c.links[1] = {{3, 10e9}};
  c.links[3] = {{1, 10e9}};
  EXPECT_EQ(place(c, 2, true), (std::vector<int32_t>{0, 2, 1, 3}));
  EXPECT_EQ(place(c, 2, false), (std::vector<int32_t>{0, 1, 2, 3}));
}

// Two Mac Studios running two ranks each, on one 1 GbE switch: each rank gets half its Studio's
// usable memory (512 GB x 3/4 / 2), and the two ranks of a Studio are linked through its memory
// (819 GB/s x 0.85 / 2, which placement prefers to the Ethernet).
TEST(Placement, RanksSharingANodeSplitItsMemoryAndLinkThroughIt) {
  auto t = topo::parse_topology(R"(name: two-studios
nodes:
  - {name: sw, kind: switch}
  - {name: s1, device: mac-studio-m3-ultra, memory: 512GB, memory_bandwidth: 819GB/s, memory_efficiency: 0.85, ranks: 2}
  - {name: s2, device: mac-studio-m3-ultra, memory: 512GB, memory_bandwidth: 819GB/s, memory_efficiency: 0.85, ranks: 2}
links:
  - {between: [s1, sw], type: eth-1g}
  - {between: [s2, sw], type: eth-1g}
)", "two-studios.yaml");
  Workload w = support::parse("name: p\nmodel: llama-3.2-1b\ntask: train\nbatch: {micro_batch: 1, seq_len: 64}\n"
                              "parallel: {strategy: tensor, tp: 2}\n");
  Cluster c = cluster_of(t, w);
  ASSERT_EQ(c.world(), 4);
  EXPECT_EQ(c.ranks[1].node, "s1#1");
  EXPECT_DOUBLE_EQ(c.ranks[0].capacity, 512e9 * 0.75 / 2);
  EXPECT_DOUBLE_EQ(c.bandwidth(0, 1), 819e9 * 0.85 / 2);
  EXPECT_DOUBLE_EQ(c.bandwidth(1, 2), 1e9 / 8 * 0.94);  // eth-1g preset: 940 Mb/s through the switch
}

TEST(Layout, DegreesMustMultiplyToTheWorld) {
  Workload w = support::parse("name: p\nmodel: llama-3.2-1b\ntask: train\nbatch: {micro_batch: 1, seq_len: 64}\n"
                              "parallel: {strategy: hybrid, dp: 2, tp: 2, pp: 2}\n");
  try {
    layout_for(w, support::cluster(6));
    FAIL();
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("w.yaml:5:11: error: dp 2 x tp 2 x pp 2 = 8 ranks, but topology 'uniform' has 6 "
                                         "nodes that run ranks"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace clustertwin::work
