// summary.csv of a pair small enough to check by hand (support.h: write_hand_pair): every row, its
// columns per run, and the absolute and relative errors against the measured run.
#include "reports/csv.h"

#include <gtest/gtest.h>

#include "support.h"
#include "temp_dir.h"

namespace clustertwin::reports {
namespace {

using testing::RunBuilder;

class Csv : public ::test::TempDirTest {};

// Predicted: a step of 1.6 s (1 s forward, a 0.6 s all-reduce of 100 MB); measured: 2.2 s (1.2 s,
// then 1.0 s). 8 samples and 8192 tokens per step. Errors are (predicted - measured) / measured:
// step -0.6 / 2.2 = -27.27 %; throughput 8 / 1.6 = 5 against 8 / 2.2 = 3.636 samples/s, +37.5 %;
// busbw (factor 1 for 2 ranks) 100 MB / 0.6 s = 166.7 MB/s against 100 MB/s, +66.7 %; the group's
// time per step sums its two ranks: 1.2 s against 2.0 s.
TEST_F(Csv, EveryFigureOfAPairWithItsError) {
  auto [pred, meas] = testing::write_hand_pair(dir_);
  std::vector<RunView> runs{load_run(pred, "PREDICTED"), load_run(meas, "MEASURED")};
  EXPECT_EQ(summary_csv(build_comparison(runs)),
            "section,item,metric,unit,predicted,measured,abs_error,error_pct\n"
            "run,all,step_mean,s,1.6,2.2,-0.6,-27.2727273\n"
            "run,all,step_p50,s,1.6,2.2,-0.6,-27.2727273\n"
            "run,all,step_p95,s,1.6,2.2,-0.6,-27.2727273\n"
            "run,all,samples_per_s,1/s,5,3.63636364,1.36363636,37.5\n"
            "run,all,tokens_per_s,1/s,5120,3723.63636,1396.36364,37.5\n"
            "step,0,time,s,1.6,2.2,-0.6,-27.2727273\n"
            "phase,exposed communication,time_per_step,s,0.6,1,-0.4,-40\n"
            "phase,forward,time_per_step,s,1,1.2,-0.2,-16.6666667\n"
            "phase,idle,time_per_step,s,0,0,0,0\n"
            "phase,pipeline bubble,time_per_step,s,0,0,0,0\n"
            "phase,waiting for a peer,time_per_step,s,0,0,0,0\n"
            "collective,grad,bytes,B,100000000,100000000,0,0\n"
            "collective,grad,time,s,0.6,1,-0.4,-40\n"
            "collective,grad,busbw,B/s,166666667,100000000,66666666.7,66.6666667\n"
            "rank,0,compute,s,1,1.2,-0.2,-16.6666667\n"
            "rank,0,exposed_communication,s,0.6,1,-0.4,-40\n"
            "rank,0,waiting_for_peer,s,0,0,0,0\n"
            "rank,0,pipeline_bubble,s,0,0,0,0\n"
            "rank,0,idle,s,0,0,0,0\n"
            "rank,1,compute,s,1,1.2,-0.2,-16.6666667\n"
            "rank,1,exposed_communication,s,0.6,1,-0.4,-40\n"
            "rank,1,waiting_for_peer,s,0,0,0,0\n"
            "rank,1,pipeline_bubble,s,0,0,0,0\n"
            "rank,1,idle,s,0,0,0,0\n"
            "route,\"group 0 (ranks 0,1)\",time_per_step,s,1.2,2,-0.8,-40\n");
}

TEST_F(Csv, OneRunHasNoErrorColumns) {
  auto [pred, meas] = testing::write_hand_pair(dir_);
  std::vector<RunView> runs{load_run(pred, "RUN")};
  std::string csv = summary_csv(build_comparison(runs));
  EXPECT_EQ(csv.substr(0, csv.find('\n', csv.find('\n') + 1) + 1),
            "section,item,metric,unit,predicted\n"
            "run,all,step_mean,s,1.6\n");
}

// Three runs are named by their directories; each run other than the reference (the measured one)
// gets its own error column; a figure a run does not have is an empty cell.
TEST_F(Csv, SeveralRunsHaveAnErrorColumnEachAndEmptyCellsForMissingFigures) {
  auto [pred, meas] = testing::write_hand_pair(dir_);
  RunBuilder b(2, 2);  // the predicted run's step, twice
  for (int step = 0; step < 2; ++step)
    for (int r = 0; r < 2; ++r)
      b.compute(r, step, core::Phase::Forward, "fwd", 10.0 * step, 10.0 * step + 1)
          .collective(r, step, "grad", 100e6, 10.0 * step + 1, 10.0 * step + 1.6);
  std::string longer = b.write(dir_ / "longer", "predicted");
  std::vector<RunView> runs{load_run(pred, "A"), load_run(meas, "B"), load_run(longer, "C")};
  std::string csv = summary_csv(build_comparison(runs));
  EXPECT_EQ(csv.substr(0, csv.find('\n') + 1),
            "section,item,metric,unit,pred,meas,longer,error_pct pred,error_pct longer\n");
  EXPECT_NE(csv.find("\nrun,all,step_mean,s,1.6,2.2,1.6,-27.2727273,-27.2727273\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\nstep,1,time,s,,,1.6,,\n"), std::string::npos) << csv;
}

}  // namespace
}  // namespace clustertwin::reports
