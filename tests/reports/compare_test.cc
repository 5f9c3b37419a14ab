// Golden comparison of a hand-made pair of runs: every figure below is computed by hand in the
// comments, and the report must show exactly that.
#include "reports/compare.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/diag.h"
#include "reports/csv.h"
#include "support.h"
#include "temp_dir.h"

namespace clustertwin::reports {
namespace {

namespace fs = std::filesystem;
using testing::RunBuilder;

class Compare : public test::TempDirTest {
 protected:

  // 2 ranks, 2 steps one second apart; per rank and step: forward 100 ms, backward 200 ms, the
  // 400 MB gradient all-reduce taking `allreduce` seconds, optimizer 50 ms, one after the other.
  std::string write_ddp(const std::string& name, const std::string& backend, double allreduce) {
    RunBuilder b(2, 2);
    for (int step = 0; step < 2; ++step)
      for (int rank = 0; rank < 2; ++rank) {
        double t = step;
        b.compute(rank, step, core::Phase::Forward, "fwd", t, t + 0.1)
            .compute(rank, step, core::Phase::Backward, "bwd", t + 0.1, t + 0.3)
            .collective(rank, step, "grad.allreduce", 400e6, t + 0.3, t + 0.3 + allreduce)
            .compute(rank, step, core::Phase::Optimizer, "opt", t + 0.3 + allreduce, t + 0.35 + allreduce);
      }
    return b.write(dir_ / name, backend);
  }

  std::vector<RunView> golden_pair() {
    // Predicted all-reduce 300 ms, measured 500 ms.
    return {load_run(write_ddp("pred", "predicted", 0.3), "PREDICTED"),
            load_run(write_ddp("meas", "measured", 0.5), "MEASURED")};
  }

};

TEST_F(Compare, GoldenErrorsByHand) {
  auto runs = golden_pair();
  auto c = build_comparison(runs);
  ASSERT_TRUE(c.paired());
  EXPECT_EQ(c.runs[c.predicted].name, "predicted");
  EXPECT_EQ(c.runs[c.reference].name, "measured");
  // Step = 100 + 200 + 300 + 50 = 650 ms predicted, 100 + 200 + 500 + 50 = 850 ms measured:
  // Δ = -200 ms, error = -200 / 850 = -23.5 %.
  EXPECT_NEAR(c.runs[c.predicted].step_mean, 0.65, 1e-12);
  EXPECT_NEAR(c.runs[c.reference].step_mean, 0.85, 1e-12);
  std::string md = report_markdown(c);
  auto has = [&](const std::string& line) { EXPECT_NE(md.find(line), std::string::npos) << line << "\n---\n" << md; };
  has("| step time (mean) | 650.00 ms | 850.00 ms | -200.00 ms | -23.5 % |");
  has("| 0 | 650.00 ms | 850.00 ms | -200.00 ms | -23.5 % |");
  has("| 1 | 650.00 ms | 850.00 ms | -200.00 ms | -23.5 % |");
  // Phases: compute identical; the all-reduce runs with no compute: exposed 300 vs 500 ms, -40 %.
  has("| forward | 100.00 ms | 100.00 ms | +0.0 us | +0.0 % |");
  has("| backward | 200.00 ms | 200.00 ms | +0.0 us | +0.0 % |");
  has("| optimizer | 50.00 ms | 50.00 ms | +0.0 us | +0.0 % |");
  has("| exposed communication | 300.00 ms | 500.00 ms | -200.00 ms | -40.0 % |");
  // busbw of a 2-rank all-reduce: factor 2(2-1)/2 = 1; 400 MB / 300 ms = 1.33 GB/s, / 500 ms = 800 MB/s.
  has("| grad.allreduce | allreduce / ring | 2 | 400.0 MB | 1 | 300.00 ms | 500.00 ms | -200.00 ms | -40.0 % | "
      "1.33 GB/s | 800.0 MB/s |");
  // Per rank: compute 100 + 200 + 50 = 350 ms; waiting = the exposed all-reduce.
  has("| 0 | - | 350.00 ms | 350.00 ms | +0.0 us | +0.0 % | 300.00 ms | 500.00 ms |  |");
  // The group's route: both ranks' all-reduce time per step, 2 x 300 ms vs 2 x 500 ms.
  has("| group 0 (ranks 0,1) | 600.00 ms | 1.000 s | -400.00 ms | -40.0 % | - |");
  // The worst op: the all-reduce, once per step and rank, -200 ms each.
  has("| grad.allreduce | 300.00 ms | 500.00 ms | -200.00 ms | -40.0 % | 1 | -200.00 ms |");
  // Matching: 2 ranks x 2 steps x 4 ops, all by (rank, op id).
  has("Matched by (rank, op id): 16 op executions; 0 only in the predicted run, 0 only in the measured run.");
  has("**The prediction is faster than measured by 200.00 ms per step (-23.5 %); most of the difference is in exposed "
      "communication (300.00 ms predicted vs 500.00 ms measured per step and rank).**");
  // Only communication is off, on the one route there is: the link figures.
  ASSERT_EQ(c.hints.size(), 1u) << md;
  EXPECT_EQ(c.hints[0].cause, "communication is off on every route: the link figures");
  EXPECT_EQ(c.hints[0].evidence,
            "time in collectives and sends per step and rank: predicted 300.00 ms, measured 500.00 ms (-40.0 %)");
}

TEST_F(Compare, MatchesOpsByRankAndOpId) {
  auto runs = golden_pair();
  auto c = build_comparison(runs);
  EXPECT_EQ(c.matched, 16u);
  ASSERT_FALSE(c.worst_ops.empty());
  // Every all-reduce execution differs by 200 ms; the first found is rank 0's op 2 of step 0.
  EXPECT_EQ(c.worst_ops[0].label, "grad.allreduce");
  EXPECT_NEAR(c.worst_ops[0].measured - c.worst_ops[0].predicted, 0.2, 1e-9);
  EXPECT_EQ(c.worst_ops[0].op % 4, 2u);
}

TEST_F(Compare, DifferentProgramsMatchOnlyWhereIdAndLabelAgree) {
  // The measured Program has one more op per rank and step ("extra", after the optimizer), so from
  // step 1 on its op ids are shifted: per rank, ids 0-3 match (step 0), ids 4-7 carry other labels,
  // ids 8-9 exist only in the measured run. Matched 2 x 4 = 8; only predicted 16 - 8 = 8; only
  // measured 2 x 6 = 12.
  RunBuilder b(2, 2);
  for (int step = 0; step < 2; ++step)
    for (int rank = 0; rank < 2; ++rank) {
      double t = step;
      b.compute(rank, step, core::Phase::Forward, "fwd", t, t + 0.1)
          .compute(rank, step, core::Phase::Backward, "bwd", t + 0.1, t + 0.3)
          .collective(rank, step, "grad.allreduce", 400e6, t + 0.3, t + 0.8)
          .compute(rank, step, core::Phase::Optimizer, "opt", t + 0.8, t + 0.85)
          .compute(rank, step, core::Phase::Other, "extra", t + 0.85, t + 0.9);
    }
  std::vector<RunView> runs{load_run(write_ddp("pred", "predicted", 0.3), "PREDICTED"),
                            load_run(b.write(dir_ / "meas", "measured"), "MEASURED")};
  auto c = build_comparison(runs);
  EXPECT_FALSE(c.same_program);
  EXPECT_EQ(c.matched, 8u);
  EXPECT_EQ(c.only_predicted, 8u);
  EXPECT_EQ(c.only_measured, 12u);
  std::string md = report_markdown(c);
  EXPECT_NE(md.find("> **Warning:** the runs executed different Programs"), std::string::npos) << md;
  EXPECT_TRUE(c.hints.empty());  // the residuals are not the model's alone
  EXPECT_NE(md.find("Not read: the runs executed different Programs"), std::string::npos) << md;
}

TEST_F(Compare, SummaryCsvHasEveryFigureWithErrors) {
  auto runs = golden_pair();
  std::string csv = summary_csv(build_comparison(runs));
  auto has = [&](const std::string& line) { EXPECT_NE(csv.find(line + "\n"), std::string::npos) << line << "\n---\n" << csv; };
  has("section,item,metric,unit,predicted,measured,abs_error,error_pct,error_note");
  has("run,all,step_mean,s,0.65,0.85,-0.2,-23.5294118,");
  has("step,0,time,s,0.65,0.85,-0.2,-23.5294118,");
  has("phase,exposed communication,time_per_step,s,0.3,0.5,-0.2,-40,");
  has("collective,grad.allreduce,bytes,B,400000000,400000000,0,0,");
  has("rank,1,compute,s,0.35,0.35,0,0,");
}

TEST_F(Compare, MergedTraceHasBothRunsAsProcessesAndRanksAsThreads) {
  auto runs = golden_pair();
  auto c = build_comparison(runs);
  write_report((dir_ / "cmp").string(), c);
  std::ifstream in(dir_ / "cmp/trace.json");
  auto j = nlohmann::json::parse(in);
  std::map<int, std::string> processes;
  std::set<std::pair<int, int>> threads;
  int complete = 0;
  double first_measured = 1e9;
  for (const auto& e : j.at("traceEvents")) {
    if (e.at("name") == "process_name") processes[e.at("pid").get<int>()] = e.at("args").at("name");
    if (e.at("name") == "thread_name") threads.insert({e.at("pid").get<int>(), e.at("tid").get<int>()});
    if (e.at("ph") == "X") {
      ++complete;
      if (e.at("pid") == 2) first_measured = std::min(first_measured, e.at("ts").get<double>());
    }
  }
  EXPECT_EQ(processes, (std::map<int, std::string>{{1, "predicted"}, {2, "measured"}}));
  EXPECT_EQ(threads.size(), 2u * 2 * 2);  // 2 runs x 2 ranks x (compute, communication)
  EXPECT_EQ(complete, 2 * 16);
  EXPECT_EQ(first_measured, 0);  // every run's clock starts at 0
  for (const char* f : {"report.md", "report.html", "summary.csv", "trace.json"}) EXPECT_TRUE(fs::exists(dir_ / "cmp" / f)) << f;
}

TEST_F(Compare, OneRunHasNoErrorsOrHints) {
  std::vector<RunView> runs{load_run(write_ddp("pred", "predicted", 0.3), "RUN")};
  auto c = build_comparison(runs);
  EXPECT_FALSE(c.paired());
  EXPECT_TRUE(c.hints.empty());
  std::string md = report_markdown(c);
  EXPECT_NE(md.find("# clustertwin: predicted run"), std::string::npos) << md;
  EXPECT_NE(md.find("| step time (mean) | 650.00 ms |\n"), std::string::npos) << md;
  EXPECT_EQ(md.find("error"), md.find("error = (predicted")) << md;  // no error column anywhere
}

TEST_F(Compare, ThreeRunsTakeErrorsAgainstTheMeasuredOne) {
  std::vector<RunView> runs{load_run(write_ddp("a", "predicted", 0.3), "RUN 1"),
                            load_run(write_ddp("b", "predicted", 0.4), "RUN 2"),
                            load_run(write_ddp("m", "measured", 0.5), "RUN 3")};
  auto c = build_comparison(runs);
  EXPECT_EQ(c.reference, 2);
  EXPECT_EQ(c.predicted, 0);
  std::string md = report_markdown(c);
  // 650 vs 850 ms: -23.5 %; 750 vs 850 ms: -11.8 %.
  EXPECT_NE(md.find("| step time (mean) | 650.00 ms | 750.00 ms | 850.00 ms | -23.5 % | -11.8 % |"), std::string::npos) << md;
  EXPECT_NE(md.find("| per step | a | b | m | error a | error b |"), std::string::npos) << md;
  // Runs named by their directories are named so in the verdict.
  EXPECT_EQ(c.verdict, "a is faster than m by 200.00 ms per step (-23.5 %); most of the difference is in exposed "
                       "communication (300.00 ms a vs 500.00 ms m per step and rank).");
}

TEST_F(Compare, LargeRankTablesKeepTheSlowestRanks) {
  RunStats s;
  for (double c : {1.0, 5.0, 3.0, 4.0, 2.0}) s.ranks.push_back({c, 0, 0, 0, {}});
  EXPECT_EQ(ranks_to_show(s, 5), (std::vector<size_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(ranks_to_show(s, 2), (std::vector<size_t>{1, 3}));  // 5 s and 4 s, in rank order
}

TEST_F(Compare, RunFromMemoryReportsAsTheRunReadBack) {
  // `predict` reports on its records without reading trace.json back: the same report.
  RunBuilder b(2, 2);
  for (int step = 0; step < 2; ++step)
    for (int rank = 0; rank < 2; ++rank)
      b.compute(rank, step, core::Phase::Forward, "fwd", step, step + 0.1 * (rank + 1))
          .collective(rank, step, "grad.allreduce", 1e6, step + 0.2, step + 0.3);
  std::string dir = b.write(dir_ / "pred", "predicted");
  core::RunInfo info{"predicted", "hand-made-topology", b.program.name, "test"};
  std::vector<RunView> from_disk{load_run(dir, "RUN")};
  std::vector<RunView> from_memory{
      run_view(dir, info, b.program, b.records, core::summarize(b.program, b.records), nullptr)};
  EXPECT_EQ(report_markdown(build_comparison(from_memory)), report_markdown(build_comparison(from_disk)));
}

TEST_F(Compare, ErrorPercent) {
  EXPECT_NEAR(error_percent(1.1, 1.0), 10, 1e-9);
  EXPECT_NEAR(error_percent(0.9, 1.0), -10, 1e-9);
  EXPECT_DOUBLE_EQ(error_percent(0, 0), 0);
}

// The one rule for error cells: the floor is 0.1 % of the reference's mean step (measured 2.2 s:
// 2.2 ms, and never under 1 us); a time under it is compared by its difference, a rate only when
// its reference is 0; a NaN is a figure its run lacks.
TEST_F(Compare, ErrorCellFloorAndMissing) {
  auto [pred, meas] = testing::write_hand_pair(dir_);
  std::vector<RunView> runs{load_run(pred, "PREDICTED"), load_run(meas, "MEASURED")};
  Comparison c = build_comparison(runs);
  EXPECT_DOUBLE_EQ(c.floor_seconds, 2.2e-3);
  ErrorCell e = error_cell(c, c.predicted, 1.1, 1.0);
  EXPECT_EQ(e.kind, ErrorCell::Kind::Percent);
  EXPECT_NEAR(e.value, 10, 1e-9);
  e = error_cell(c, c.predicted, 5e-3, 2e-3);  // 2 ms < 2.2 ms
  EXPECT_EQ(e.kind, ErrorCell::Kind::Difference);
  EXPECT_EQ(format_error(e), "+3.00 ms");
  EXPECT_EQ(format_error(error_cell(c, c.predicted, 5e-3, 3e-3)), "+66.7 %");  // 3 ms >= the floor
  EXPECT_EQ(format_error(error_cell(c, c.predicted, 5, 2e-3, Figure::Other), Figure::Other), "+249900.0 %");
  EXPECT_EQ(format_error(error_cell(c, c.predicted, 5, 0, Figure::Other), Figure::Other), "+5.00");
  EXPECT_EQ(format_error(error_cell(c, c.predicted, NAN, 1)), "not in run predicted");
  EXPECT_EQ(format_error(error_cell(c, c.predicted, 1, NAN)), "not in run measured");
  EXPECT_EQ(format_error(error_cell(c, c.predicted, NAN, NAN)), "-");
}

TEST_F(Compare, MalformedSummaryNamesLineAndColumn) {
  std::ofstream(dir_ / "bad.json") << "{\n  \"backend\": \"predicted\",\n  oops\n}\n";
  try {
    load_run((dir_ / "bad.json").string(), "PREDICTED");
    FAIL();
  } catch (const core::InputError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("bad.json:3:3: error: invalid JSON in a run file"), std::string::npos) << what;
  }
}

TEST_F(Compare, TraceWithoutOpIdsIsAnInputErrorNamingTheEvent) {
  fs::path run = write_ddp("pred", "predicted", 0.3);
  std::ofstream(run / "trace.json") << R"({"traceEvents": [{"ph": "X", "name": "fwd", "cat": "forward", "pid": 0,
    "ts": 0, "dur": 1, "args": {}}]})";
  try {
    load_run(run.string(), "PREDICTED");
    FAIL();
  } catch (const core::InputError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("trace.json: error: not a clustertwin trace (traceEvents[0])"), std::string::npos) << what;
    EXPECT_NE(what.find("hint: expected Chrome trace events with args {op, step, kind, bytes}"), std::string::npos) << what;
  }
}

TEST_F(Compare, MissingDirectoryIsAnInputError) {
  EXPECT_THROW(load_run((dir_ / "nope").string(), "MEASURED"), core::InputError);
}

}  // namespace
}  // namespace clustertwin::reports
