// report.html opened in real headless Chromium: it renders without a console message or script
// error, and the charts the browser built hold the expected number of bars, points, rows, lanes
// and nodes. Chromium is Debian's `chromium` (scripts/setup.sh installs it); without it the test
// fails, it does not skip.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include "browser.h"
#include "reports/compare.h"
#include "support.h"
#include "temp_dir.h"

namespace clustertwin::reports {
namespace {

namespace fs = std::filesystem;
using test::chromium;
using test::console_lines;
using test::marks;
using test::Page;
using test::render;

std::string attribute(const std::string& dom, const std::string& name) {
  std::smatch m;
  return std::regex_search(dom, m, std::regex("<html[^>]*" + name + "=\"([^\"]*)\"")) ? m[1].str() : "";
}

class Browser : public test::TempDirTest {
 protected:
  void SetUp() override {
    ASSERT_FALSE(chromium().empty()) << "chromium not found: install Debian's chromium (scripts/setup.sh does)";
  }

  fs::path report(int world, int steps) {
    auto [pred, meas] = testing::write_synthetic_pair(dir_, world, steps);
    std::vector<RunView> runs{load_run(pred, "PREDICTED"), load_run(meas, "MEASURED")};
    write_report((dir_ / "cmp").string(), build_comparison(runs));
    return dir_ / "cmp/report.html";
  }
};

TEST_F(Browser, RendersTheChartsOfAKnownPairWithoutErrors) {
  Page page = render(report(3, 4), dir_);
  ASSERT_EQ(page.code, 0) << page.log;
  EXPECT_EQ(attribute(page.dom, "data-rendered"), "ok") << page.dom.substr(0, 2000);
  EXPECT_EQ(attribute(page.dom, "data-js-error"), "");
  EXPECT_EQ(console_lines(page.log), "");
  EXPECT_EQ(attribute(page.dom, "data-charts"), "5");
  EXPECT_EQ(marks(page.dom, "chart-breakdown"), 2);    // predicted beside measured
  EXPECT_EQ(marks(page.dom, "chart-steps"), 2 * 4);    // a point per run and step
  EXPECT_EQ(marks(page.dom, "chart-collectives"), 4);  // 4 all-reduce buckets
  EXPECT_EQ(marks(page.dom, "chart-timelines"), 2 * 3);  // a lane per run and rank
  EXPECT_EQ(marks(page.dom, "chart-topology"), 4);     // 3 nodes and the switch
}

TEST_F(Browser, ScriptErrorsAreCaught) {
  // The check itself: a page whose script throws is reported, not passed.
  fs::path html = report(2, 2);
  std::string text = testing::read_file(html);
  text.replace(text.find("</body>"), 7, "<script>undefinedFunction();</script></body>");
  std::ofstream(html) << text;
  Page page = render(html, dir_);
  EXPECT_NE(attribute(page.dom, "data-js-error").find("undefinedFunction"), std::string::npos) << page.dom.substr(0, 500);
  EXPECT_NE(console_lines(page.log), "");
}

TEST_F(Browser, LargeComparisonRendersQuickly) {
  fs::path html = report(64, 20);
  double bytes = static_cast<double>(fs::file_size(html));
  EXPECT_LT(bytes, 5e6);
  Page page = render(html, dir_);
  ASSERT_EQ(page.code, 0) << page.log;
  EXPECT_EQ(attribute(page.dom, "data-rendered"), "ok");
  EXPECT_EQ(attribute(page.dom, "data-js-error"), "");
  EXPECT_EQ(console_lines(page.log), "");
  EXPECT_EQ(marks(page.dom, "chart-timelines"), 2 * 64);
  EXPECT_EQ(marks(page.dom, "chart-steps"), 2 * 20);
  // The page's own figure (navigation start to the end of its last script, layout included) and
  // the whole browser run; the bound is loose: the machine is shared.
  std::printf("64 ranks x 20 steps: report.html %.0f KB, page ready %s ms after navigation, chromium run %.2f s\n",
              bytes / 1e3, attribute(page.dom, "data-render-ms").c_str(), page.wall_seconds);
  EXPECT_LT(page.wall_seconds, 30);
}

}  // namespace
}  // namespace clustertwin::reports
