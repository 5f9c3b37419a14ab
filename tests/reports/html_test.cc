// report.html without a browser: the charts carry the expected number of bars, points, rows and
// lanes, the page fetches nothing, and a 64-rank, 20-step comparison stays small.
#include "reports/html.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include <fmt/format.h>
#include <unistd.h>

#include "support.h"
#include "temp_dir.h"

namespace clustertwin::reports {
namespace {

namespace fs = std::filesystem;
using testing::count;
using testing::RunBuilder;

class Html : public test::TempDirTest {};

TEST_F(Html, ChartsOfASmallPair) {
  auto [pred, meas] = testing::write_synthetic_pair(dir_, 3, 4);
  std::vector<RunView> runs{load_run(pred, "PREDICTED"), load_run(meas, "MEASURED")};
  std::string html = report_html(build_comparison(runs));
  EXPECT_EQ(count(html, "<svg id=\"chart-"), 5u);
  EXPECT_EQ(count(html, "<g class=\"bar\""), 2u);              // predicted beside measured
  // forward, backward, optimizer, exposed communication; and in the measured run, where the slow
  // rank 1 starts each all-reduce late, the others' waiting for it and their idle time
  EXPECT_EQ(count(html, "<rect class=\"seg\""), 4u + 6);
  EXPECT_EQ(count(html, "<circle class=\"pt\""), 2u * 4);      // 2 runs x 4 steps
  EXPECT_EQ(count(html, "<g class=\"row\">"), 4u);             // 4 all-reduce buckets
  EXPECT_EQ(count(html, "<g class=\"lane\""), 2u * 3);         // 2 runs x 3 ranks
  EXPECT_EQ(count(html, "<g class=\"node\">"), 4u);            // 3 nodes and the switch
  EXPECT_EQ(count(html, "<g class=\"link\">"), 3u);
  EXPECT_EQ(count(html, "<li class=\"hint\">"), 1u);           // the slow rank 1
  // Self-contained: nothing to fetch, and a policy that forbids fetching.
  EXPECT_EQ(count(html, "src="), 0u);
  EXPECT_EQ(count(html, "href="), 0u);
  EXPECT_EQ(count(html, "url("), 0u);
  EXPECT_NE(html.find("content=\"default-src 'none';"), std::string::npos);
}

TEST_F(Html, OneRunHasNoMeasuredColumn) {
  auto [pred, meas] = testing::write_synthetic_pair(dir_, 2, 2);
  std::vector<RunView> runs{load_run(pred, "RUN")};
  std::string html = report_html(build_comparison(runs));
  EXPECT_EQ(count(html, "<g class=\"bar\""), 1u);
  EXPECT_EQ(count(html, "<g class=\"lane\""), 2u);
  EXPECT_EQ(count(html, "measured"), 0u);
  EXPECT_EQ(count(html, "Likely causes"), 0u);
}

TEST_F(Html, RunsWithoutTraceOrTopologySayWhatIsMissing) {
  auto [pred, meas] = testing::write_synthetic_pair(dir_, 2, 2);
  fs::remove(fs::path(pred) / "trace.json");
  fs::remove(fs::path(pred) / "topology.yaml");
  std::vector<RunView> runs{load_run(pred, "RUN")};
  std::string html = report_html(build_comparison(runs));
  EXPECT_NE(html.find("No trace.json in the run directories: no timelines."), std::string::npos);
  EXPECT_NE(html.find("No topology.yaml in the run directories"), std::string::npos);
  EXPECT_EQ(count(html, "<g class=\"bar\""), 1u);  // the breakdown from summary.json alone
}

// 64 ranks x 20 steps x 29 ops: the page summarises (one step per timeline, merged boxes).
TEST_F(Html, LargeComparisonStaysUnder5MB) {
  auto [pred, meas] = testing::write_synthetic_pair(dir_, 64, 20);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<RunView> runs{load_run(pred, "PREDICTED"), load_run(meas, "MEASURED")};
  auto c = build_comparison(runs);
  std::string html = report_html(c);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(html.size(), 5u << 20);
  EXPECT_EQ(count(html, "<g class=\"lane\""), 2u * 64);
  EXPECT_EQ(count(html, "<circle class=\"pt\""), 2u * 20);
  RecordProperty("html_bytes", std::to_string(html.size()));
  std::printf("64 ranks x 20 steps: load + analyse + HTML %.2f s, report.html %.0f KB\n", seconds, html.size() / 1e3);
}

}  // namespace
}  // namespace clustertwin::reports
