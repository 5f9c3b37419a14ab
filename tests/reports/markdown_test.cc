// report.md of a pair small enough to check by hand (support.h: write_hand_pair): the verdict, the
// likely causes in order, and one row of every table with its Δ and error.
#include <gtest/gtest.h>

#include "reports/compare.h"
#include "support.h"
#include "temp_dir.h"

namespace clustertwin::reports {
namespace {

class Markdown : public ::test::TempDirTest {
 protected:
  // Predicted: 1 s forward, then a 0.6 s all-reduce of 100 MB (step 1.6 s); measured: 1.2 s, then
  // 1.0 s (step 2.2 s). 2 ranks, 1 step, 8 samples and 8192 tokens per step.
  std::string pair_report() {
    auto [pred, meas] = testing::write_hand_pair(dir_);
    std::vector<RunView> runs{load_run(pred, "PREDICTED"), load_run(meas, "MEASURED")};
    return report_markdown(build_comparison(runs));
  }

  static bool has(const std::string& md, const std::string& line) { return md.find(line) != std::string::npos; }
};

TEST_F(Markdown, VerdictNamesTheLargestDifference) {
  std::string md = pair_report();
  EXPECT_EQ(md.substr(0, md.find('\n')), "# clustertwin: predicted vs measured");
  // Step -0.6 s (-27.3 %); compute differs by 0.2 s per rank, exposed communication by 0.4 s.
  EXPECT_TRUE(has(md, "\n**The prediction is faster than measured by 600.00 ms per step (-27.3 %); most of the difference "
                      "is in exposed communication (600.00 ms predicted vs 1.000 s measured per step and rank).**\n"))
      << md;
}

// Each run says what bounds its step. In the synthetic measured run rank 1 computes 1.4x where the
// others take 1.1x, and the others wait for it in every all-reduce: it is named, with its node.
TEST_F(Markdown, EachRunSaysWhatBoundsItsStep) {
  auto [pred, meas] = testing::write_synthetic_pair(dir_, 3, 4);
  std::vector<RunView> runs{load_run(pred, "PREDICTED"), load_run(meas, "MEASURED")};
  std::string md = report_markdown(build_comparison(runs));
  EXPECT_TRUE(has(md, "\n- measured: bound by rank 1 (node n1, mac-mini-m4): its compute is ")) << md;
  EXPECT_TRUE(has(md, "ranks 0 and 2 wait for it, up to ")) << md;
  EXPECT_TRUE(has(md, "\n- predicted: bound by compute: ")) << md;
}

TEST_F(Markdown, LikelyCausesLargestFirst) {
  std::string md = pair_report();
  // Communication explains (2.0 - 1.2) / 2 = 0.4 s per rank, compute (2.4 - 2.0) / 2 = 0.2 s.
  EXPECT_TRUE(has(md, "1. **communication is off on every route: the link figures** — time in collectives and sends per "
                      "step and rank: predicted 600.00 ms, measured 1.000 s (-40.0 %).\n"))
      << md;
  EXPECT_TRUE(has(md, "2. **compute is off on every rank: the device figures** — compute per step and rank: predicted "
                      "1.000 s, measured 1.200 s (-16.7 %); every rank between -16.7 % and -16.7 %.\n"))
      << md;
  EXPECT_TRUE(has(md, "scaling them by 0.83 matches this run")) << md;  // 2.0 / 2.4
}

TEST_F(Markdown, StepAndPhaseRows) {
  std::string md = pair_report();
  EXPECT_TRUE(has(md, "| per step | predicted | measured | Δ | error |\n|---|---:|---:|---:|---:|\n")) << md;
  EXPECT_TRUE(has(md, "| step time (mean) | 1.600 s | 2.200 s | -600.00 ms | -27.3 % |\n")) << md;
  EXPECT_TRUE(has(md, "| samples/s | 5.00 | 3.64 | +1.36 | +37.5 % |\n")) << md;  // 8 / 1.6 and 8 / 2.2
  EXPECT_TRUE(has(md, "| tokens/s | 5120.00 | 3723.64 | +1396.36 | +37.5 % |\n")) << md;
  EXPECT_TRUE(has(md, "| forward | 1.000 s | 1.200 s | -200.00 ms | -16.7 % |\n")) << md;
  EXPECT_TRUE(has(md, "| exposed communication | 600.00 ms | 1.000 s | -400.00 ms | -40.0 % |\n")) << md;
  EXPECT_TRUE(has(md, "| idle | 0.0 us | 0.0 us | +0.0 us | +0.0 % |\n")) << md;
  EXPECT_FALSE(has(md, "| pipeline bubble |")) << md;  // zero, and not a waiting kind every run shows
}

TEST_F(Markdown, CollectiveRankRouteAndWorstRows) {
  std::string md = pair_report();
  // busbw = 100 MB / time x 2(n-1)/n (1 for 2 ranks).
  EXPECT_TRUE(has(md, "| grad | allreduce / ring | 2 | 100.0 MB | 1 | 600.00 ms | 1.000 s | -400.00 ms | -40.0 % | "
                      "166.7 MB/s | 100.0 MB/s |\n"))
      << md;
  EXPECT_TRUE(has(md, "| 0 | - | 1.000 s | 1.200 s | -200.00 ms | -16.7 % | 600.00 ms | 1.000 s |  |\n")) << md;
  EXPECT_TRUE(has(md, "| group 0 (ranks 0,1) | 1.200 s | 2.000 s | -800.00 ms | -40.0 % | - |\n")) << md;
  // The all-reduce is 0.4 s off once per step and rank, the forward 0.2 s: the all-reduce first.
  EXPECT_TRUE(has(md, "|---|---:|---:|---:|---:|---:|---:|\n| grad | 600.00 ms | 1.000 s | -400.00 ms | -40.0 % | 1 | "
                      "-400.00 ms |\n| fwd | 1.000 s | 1.200 s | -200.00 ms | -16.7 % | 1 | -200.00 ms |\n"))
      << md;
  EXPECT_TRUE(has(md, "Matched by (rank, op id): 4 op executions; 0 only in the predicted run, 0 only in the measured run."))
      << md;
}

TEST_F(Markdown, OneRunHasNoErrorColumnsAndNoCauses) {
  auto [pred, meas] = testing::write_hand_pair(dir_);
  std::vector<RunView> runs{load_run(pred, "RUN")};
  std::string md = report_markdown(build_comparison(runs));
  EXPECT_EQ(md.substr(0, md.find('\n')), "# clustertwin: predicted run");
  EXPECT_TRUE(has(md, "| per step | predicted |\n|---|---:|\n| step time (mean) | 1.600 s |\n")) << md;
  EXPECT_FALSE(has(md, "Likely causes")) << md;
  EXPECT_FALSE(has(md, "Worst offenders")) << md;
}

}  // namespace
}  // namespace clustertwin::reports
