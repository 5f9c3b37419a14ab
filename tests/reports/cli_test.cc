// The report commands as a user runs them: compare --max-error, report with one or more runs,
// predict's report.html, and input errors.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "run_cli.h"
#include "support.h"
#include "temp_dir.h"

namespace clustertwin::reports {
namespace {

namespace fs = std::filesystem;
using testing::RunBuilder;

using cli_test::Result;
using cli_test::run;

class ReportCli : public test::TempDirTest {
 protected:

  // One rank computing 1 s then all-reducing for `comm` seconds, 2 steps.
  std::string write(const std::string& name, const std::string& backend, double comm) {
    RunBuilder b(2, 2);
    for (int step = 0; step < 2; ++step)
      for (int r = 0; r < 2; ++r)
        b.compute(r, step, core::Phase::Backward, "bwd", step * 10, step * 10 + 1)
            .collective(r, step, "grad.allreduce", 100e6, step * 10 + 1, step * 10 + 1 + comm);
    return b.write(dir_ / name, backend);
  }
};

TEST_F(ReportCli, MaxErrorFailsTheCompareWhenExceeded) {
  // Step 1.25 s predicted vs 1.5 s measured: (1.25 - 1.5) / 1.5 = -16.7 %.
  std::string pred = write("pred", "predicted", 0.25), meas = write("meas", "measured", 0.5);
  Result over = run(fmt::format("compare {} {} -o {} --max-error 10", pred, meas, out("cmp")));
  EXPECT_EQ(over.code, 1) << over.output;
  EXPECT_NE(over.output.find("step time: predicted 1.250 s, measured 1.500 s (-16.7 %)"), std::string::npos) << over.output;
  EXPECT_NE(over.output.find("clustertwin: error: compare: the step-time error -16.7 % (predicted 1.250 s vs measured "
                             "1.500 s) exceeds --max-error 10 %"),
            std::string::npos)
      << over.output;
  for (const char* f : {"report.md", "report.html", "summary.csv", "trace.json"})
    EXPECT_TRUE(fs::exists(dir_ / "cmp" / f)) << f << " is written before the gate";
  Result within = run(fmt::format("compare {} {} -o {} --max-error 20", pred, meas, out("cmp2")));
  EXPECT_EQ(within.code, 0) << within.output;
  EXPECT_NE(within.output.find("likely cause: communication is off on every route: the link figures"), std::string::npos)
      << within.output;
  Result no_gate = run(fmt::format("compare {} {} -o {}", pred, meas, out("cmp3")));
  EXPECT_EQ(no_gate.code, 0) << no_gate.output;
}

TEST_F(ReportCli, ReportTakesOneOrMoreRuns) {
  std::string a = write("a", "predicted", 0.25), b = write("b", "predicted", 0.4), m = write("m", "measured", 0.5);
  Result one = run(fmt::format("report {} -o {}", a, out("one")));
  ASSERT_EQ(one.code, 0) << one.output;
  EXPECT_NE(testing::read_file(dir_ / "one/report.md").find("# clustertwin: predicted run"), std::string::npos);
  // Two predictions compared: the MEASURED argument is the reference, (1.25 - 1.4) / 1.4 = -10.7 %.
  Result what_if = run(fmt::format("compare {} {} -o {}", a, b, out("what-if")));
  ASSERT_EQ(what_if.code, 0) << what_if.output;
  EXPECT_NE(what_if.output.find("step time: a 1.250 s, b 1.400 s (-10.7 %)"), std::string::npos) << what_if.output;
  Result three = run(fmt::format("report {} {} {} -o {} --max-error 50", a, b, m, out("three")));
  ASSERT_EQ(three.code, 0) << three.output;
  // Errors against the measured run: (1.25 - 1.5) / 1.5 = -16.7 %, (1.4 - 1.5) / 1.5 = -6.7 %.
  EXPECT_NE(testing::read_file(dir_ / "three/report.md").find("| step time (mean) | 1.250 s | 1.400 s | 1.500 s | -16.7 % | -6.7 % |"),
            std::string::npos)
      << testing::read_file(dir_ / "three/report.md");
}

TEST_F(ReportCli, MissingRunNamesTheFileAndTheArgument) {
  std::string pred = write("pred", "predicted", 0.25);
  Result r = run(fmt::format("compare {} {} -o {}", pred, out("nope"), out("cmp")));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find(out("nope") + ": error: cannot open file: No such file or directory"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("hint: MEASURED takes a run directory (with summary.json)"), std::string::npos) << r.output;
  Result into_run = run(fmt::format("compare {} {} -o {}", pred, pred, pred));
  EXPECT_EQ(into_run.code, 2) << into_run.output;
  EXPECT_NE(into_run.output.find(fmt::format("-o/--out: error: '{0}' is the input '{0}': the outputs would replace what is read",
                                             pred)),
            std::string::npos)
      << into_run.output;
  EXPECT_TRUE(fs::exists(fs::path(pred) / "summary.json"));
  Result bad = run(fmt::format("compare {} {} -o {} --max-error -3", pred, pred, out("cmp")));
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--max-error"), std::string::npos) << bad.output;
}

TEST_F(ReportCli, PredictWritesReportHtmlAndKeepsTheTopology) {
  Result p = run(fmt::format("predict -t {}/tests/e2e/fixtures/local-3-fast.yaml -w {}/workloads/examples/ddp-gpt2.yaml "
                             "--steps 2 --micro-batch 1 -o {}",
                             CLUSTERTWIN_SOURCE_DIR, CLUSTERTWIN_SOURCE_DIR, out("pred")));
  // The executor-only build (-DCLUSTERTWIN_SIM=OFF, for Macs and Pis) has no simulator.
  if (p.output.find("built without SimGrid") != std::string::npos) GTEST_SKIP() << p.output;
  ASSERT_EQ(p.code, 0) << p.output;
  EXPECT_TRUE(fs::exists(dir_ / "pred/topology.yaml"));
  std::string html = testing::read_file(dir_ / "pred/report.html");
  EXPECT_EQ(testing::count(html, "<g class=\"bar\""), 1u);
  EXPECT_EQ(testing::count(html, "<g class=\"node\">"), 4u);  // 3 ranks and the loopback switch
  EXPECT_EQ(testing::count(html, "measured"), 0u);
}

// Issue 13 item 6: ZeRO-2 on the 4-mini Thunderbolt 4 star. Reduce-scatter and all-gather are
// rings in rank order, so of every rank's messages those of mini2 -> mini3 and mini3 -> mini4 cross
// the hub as transit: twice what any one link direction carries, through a forwarder no faster than
// a link (tb4: 16.4 Gb/s both). The hub is the busiest resource, and predict says so.
TEST_F(ReportCli, PredictNamesTheBusiestResourceTheStarsHub) {
  Result p = run(fmt::format("predict -t {}/topologies/examples/tb4-star-4minis.yaml -w "
                             "{}/workloads/examples/zero2-gpt2-355m.yaml --steps 2 -o {}",
                             CLUSTERTWIN_SOURCE_DIR, CLUSTERTWIN_SOURCE_DIR, out("star")));
  if (p.output.find("built without SimGrid") != std::string::npos) GTEST_SKIP() << p.output;
  ASSERT_EQ(p.code, 0) << p.output;
  EXPECT_NE(p.output.find("\n  busiest     forwarding node 'mini1': "), std::string::npos) << p.output;
  std::string html = testing::read_file(dir_ / "star/report.html");
  EXPECT_NE(html.find("<td>forwarding node mini1</td><td>16.4 Gb/s, +210.0 us a crossing</td>"), std::string::npos);
}

}  // namespace
}  // namespace clustertwin::reports
