// What analyse() reads off one run directory, checked against a run small enough to add up by hand:
// phases, ranks, collectives (busbw), routes, link bytes and utilisation, the timeline, and the
// helpers the tables share.
#include "reports/analysis.h"

#include <gtest/gtest.h>

#include "support.h"
#include "temp_dir.h"

namespace clustertwin::reports {
namespace {

using testing::RunBuilder;

// Two ranks behind a switch, 1 GB/s links (8 Gbps) each way, two steps 10 s apart. Each step:
//   rank 0: forward [0, 1], backward [1, 3], all-reduce of 100 MB [3, 4]
//   rank 1: forward [0, 1], backward [1, 2.5], waits, all-reduce [3, 4]
// so the step is 4 s; rank 0 computes 3 s, rank 1 2.5 s and idles 0.5 s; both spend 1 s in an
// all-reduce with nothing else running (exposed communication).
class Analysis : public ::test::TempDirTest {
 protected:
  void SetUp() override {
    RunBuilder b(2, 2);
    for (int step = 0; step < 2; ++step) {
      const double t = 10.0 * step;
      b.compute(0, step, core::Phase::Forward, "fwd", t, t + 1)
          .compute(0, step, core::Phase::Backward, "bwd", t + 1, t + 3)
          .collective(0, step, "grad", 100e6, t + 3, t + 4);
      b.compute(1, step, core::Phase::Forward, "fwd", t, t + 1)
          .compute(1, step, core::Phase::Backward, "bwd", t + 1, t + 2.5)
          .collective(1, step, "grad", 100e6, t + 3, t + 4);
    }
    const std::string topology =
        "name: pair\nnodes:\n"
        "  - {name: a, device: mac-mini-m4, address: 10.0.0.1}\n"
        "  - {name: b, device: mac-mini-m4, address: 10.0.0.2}\n"
        "  - {name: sw, kind: switch}\n"
        "links:\n"
        "  - {between: [a, sw], type: eth-10g, bandwidth: 8Gbps}\n"
        "  - {between: [b, sw], type: eth-10g, bandwidth: 8Gbps}\n";
    view_ = load_run(b.write(dir_ / "run", "predicted", topology), "RUN");
    stats_ = analyse(view_, "predicted");
  }

  RunView view_;
  RunStats stats_;
};

TEST_F(Analysis, StepsAndPhasesAddUpToTheStep) {
  ASSERT_EQ(stats_.step_seconds.size(), 2u);
  EXPECT_DOUBLE_EQ(stats_.step_seconds[0], 4);
  EXPECT_DOUBLE_EQ(stats_.step_seconds[1], 4);
  EXPECT_DOUBLE_EQ(stats_.step_mean, 4);
  EXPECT_DOUBLE_EQ(stats_.step_start[1], 10);
  // Averaged over the two ranks: forward (1 + 1) / 2, backward (2 + 1.5) / 2, idle (0 + 0.5) / 2.
  EXPECT_DOUBLE_EQ(stats_.phase("forward"), 1);
  EXPECT_DOUBLE_EQ(stats_.phase("backward"), 1.75);
  EXPECT_DOUBLE_EQ(stats_.phase("exposed communication"), 1);
  EXPECT_DOUBLE_EQ(stats_.phase("pipeline bubble"), 0);
  EXPECT_DOUBLE_EQ(stats_.phase("idle"), 0.25);
  EXPECT_DOUBLE_EQ(stats_.phase("optimizer"), 0);  // absent
  double sum = 0;
  for (const auto& [name, seconds] : stats_.phases) sum += seconds;
  EXPECT_DOUBLE_EQ(sum, stats_.step_mean);
}

TEST_F(Analysis, RanksKeepTheirOwnBreakdown) {
  ASSERT_EQ(stats_.ranks.size(), 2u);
  EXPECT_DOUBLE_EQ(stats_.ranks[0].compute, 3);
  EXPECT_DOUBLE_EQ(stats_.ranks[0].exposed, 1);
  EXPECT_DOUBLE_EQ(stats_.ranks[0].idle, 0);
  EXPECT_DOUBLE_EQ(stats_.ranks[1].compute, 2.5);
  EXPECT_DOUBLE_EQ(stats_.ranks[1].idle, 0.5);
  EXPECT_DOUBLE_EQ(stats_.ranks[1].not_computing(), 1.5);
  EXPECT_DOUBLE_EQ(stats_.ranks[1].phases.at("backward"), 1.5);
}

TEST_F(Analysis, CollectiveTimeAndBusBandwidth) {
  ASSERT_EQ(stats_.collectives.size(), 1u);
  const CollectiveStats* c = stats_.collective("grad");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->kind, "allreduce");
  EXPECT_EQ(c->algorithm, "ring");
  EXPECT_EQ(c->group_size, 2);
  EXPECT_DOUBLE_EQ(c->bytes, 100e6);
  EXPECT_DOUBLE_EQ(c->mean_seconds, 1);
  EXPECT_DOUBLE_EQ(c->per_step, 1);      // 4 occurrences / (2 steps x 2 ranks)
  EXPECT_DOUBLE_EQ(c->busbw_factor, 1);  // 2(n-1)/n for n = 2
  EXPECT_DOUBLE_EQ(c->busbw, 100e6);     // 100 MB in 1 s
  EXPECT_EQ(stats_.collective("nothing"), nullptr);
}

TEST_F(Analysis, RouteOfTheGroupAndTheLinksItCrosses) {
  ASSERT_EQ(stats_.routes.size(), 1u);
  const RouteStats* r = stats_.route("group 0 (ranks 0,1)");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->ranks, (std::vector<int>{0, 1}));
  EXPECT_DOUBLE_EQ(r->seconds, 2);  // 1 s on each of the 2 ranks per step
  EXPECT_DOUBLE_EQ(r->bytes, 200e6);
  EXPECT_DOUBLE_EQ(r->ops, 2);
  EXPECT_EQ(r->links, (std::vector<int>{0, 1}));
  // A ring all-reduce of 2 ranks sends 2(n-1)/n of the 100 MB buffer each way: 100 MB per step
  // up and down each link; 100 MB at 1 GB/s over a 4 s step is 2.5 %.
  ASSERT_EQ(stats_.links.size(), 2u);
  const LinkStats& a = stats_.links[0];
  EXPECT_EQ(a.name, "a - sw (eth-10g)");
  EXPECT_DOUBLE_EQ(a.bandwidth, 1e9);
  EXPECT_DOUBLE_EQ(a.bytes_up, 100e6);
  EXPECT_DOUBLE_EQ(a.bytes_down, 100e6);
  EXPECT_DOUBLE_EQ(a.utilisation, 0.025);
  EXPECT_DOUBLE_EQ(a.comm_seconds, 2);
}

TEST_F(Analysis, TimelineOfTheMedianStepMergesAdjacentBoxes) {
  EXPECT_EQ(stats_.timeline_step, 0);  // both steps are 4 s: the first nearest the median
  EXPECT_DOUBLE_EQ(stats_.timeline_span, 4);
  ASSERT_EQ(stats_.timeline.size(), 2u);
  const auto& r1 = stats_.timeline[1];  // forward and backward touch: one compute box
  ASSERT_EQ(r1.size(), 2u);
  EXPECT_EQ(r1[0].kind, BoxKind::Compute);
  EXPECT_DOUBLE_EQ(r1[0].start, 0);
  EXPECT_DOUBLE_EQ(r1[0].end, 2.5);
  EXPECT_EQ(r1[1].kind, BoxKind::Communication);
  EXPECT_DOUBLE_EQ(r1[1].start, 3);
  EXPECT_DOUBLE_EQ(r1[1].end, 4);
}

TEST_F(Analysis, OpSecondsByRankAndOpId) {
  auto ops = op_seconds(view_);
  EXPECT_EQ(ops.size(), 12u);  // 2 ranks x 2 steps x 3 ops
  EXPECT_DOUBLE_EQ(ops.at((1ull << 32) | 1), 1.5);  // rank 1's first backward
  EXPECT_DOUBLE_EQ(ops.at((0ull << 32) | 5), 1);    // rank 0's second all-reduce
}

TEST(AnalysisHelpers, PhaseOrderPutsComputeFirstAndUnknownPhasesLast) {
  RunStats a, b;
  a.phases = {{"forward", 1}, {"zeta", 1}};
  b.phases = {{"alpha", 1}};
  auto order = phase_order({a, b});
  ASSERT_EQ(order.size(), 1 + kPhaseOrder.size() + 2);
  EXPECT_EQ(order.front(), "compute");
  EXPECT_EQ(order[1], "forward");
  EXPECT_EQ(order[order.size() - 2], "zeta");  // the runs' order: a first, its map sorted
  EXPECT_EQ(order.back(), "alpha");
}

TEST(AnalysisHelpers, RanksToShowKeepTheMostComputeInRankOrder) {
  RunStats s;
  for (double c : {1.0, 4.0, 2.0, 3.0}) s.ranks.push_back({c, 0, 0, 0, {}});
  EXPECT_EQ(ranks_to_show(s, 8), (std::vector<size_t>{0, 1, 2, 3}));
  EXPECT_EQ(ranks_to_show(s, 2), (std::vector<size_t>{1, 3}));
}

TEST(AnalysisHelpers, ComputeOverTheMedianFlagsOnlyStragglers) {
  RunStats s;
  for (double c : {1.0, 1.0, 1.5, 1.05}) s.ranks.push_back({c, 0, 0, 0, {}});
  // Sorted 1, 1, 1.05, 1.5: the median taken is the upper one, 1.05.
  auto slow = compute_over_median(s, 2);
  ASSERT_TRUE(slow.has_value());
  EXPECT_NEAR(*slow, (1.5 / 1.05 - 1) * 100, 1e-9);  // +42.9 %
  EXPECT_FALSE(compute_over_median(s, 3).has_value());  // the median itself
  EXPECT_FALSE(compute_over_median(s, 9).has_value());  // no such rank
  RunStats idle;
  idle.ranks.assign(2, {});
  EXPECT_FALSE(compute_over_median(idle, 0).has_value());  // a median of 0 flags nobody
}

TEST(AnalysisHelpers, BusBandwidthFactorsOfNcclTests) {
  EXPECT_DOUBLE_EQ(busbw_factor("allreduce", 4), 1.5);
  EXPECT_DOUBLE_EQ(busbw_factor("allgather", 4), 0.75);
  EXPECT_DOUBLE_EQ(busbw_factor("reducescatter", 8), 0.875);
  EXPECT_DOUBLE_EQ(busbw_factor("alltoall", 2), 0.5);
  EXPECT_DOUBLE_EQ(busbw_factor("broadcast", 4), 1);
  EXPECT_DOUBLE_EQ(busbw_factor("allreduce", 0), 1);
}

}  // namespace
}  // namespace clustertwin::reports
